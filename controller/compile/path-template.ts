// Path templates in the AWS API Gateway style: "/users/{id}/orders/{orderId}", a greedy "{proxy+}" allowed only
// as the whole last segment, and (as the proxy's router supports) one parameter with static text around it in a
// segment: "/docs/{name}.json", "/v{major}". Parameter names are what replacePath can refer to: letters, digits, "_".

export interface TemplateParam {
  name: string;
  greedy: boolean;
}

export type TemplateParse = { ok: true; params: TemplateParam[] } | { ok: false; message: string };

const PARAM_SEGMENT = /^([^{}]*)\{([A-Za-z_][A-Za-z0-9_]*)(\+)?\}([^{}]*)$/;

export function parseTemplate(template: string): TemplateParse {
  if (!template.startsWith('/')) return { ok: false, message: 'a template must start with "/"' };
  const segments = template.slice(1).split('/');
  const params: TemplateParam[] = [];
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    if (segment === '' && !last) return { ok: false, message: `empty path segment in ${JSON.stringify(template)}` };
    if (!segment.includes('{') && !segment.includes('}')) continue;
    const m = PARAM_SEGMENT.exec(segment);
    if (!m) return { ok: false, message: `segment ${JSON.stringify(segment)} must be static text or hold one {param} (letters, digits, "_")` };
    const name = m[2] as string;
    const greedy = m[3] === '+';
    if (greedy && (!last || m[1] !== '' || m[4] !== '')) return { ok: false, message: `greedy parameter {${name}+} is only allowed as the whole last segment` };
    if (params.some((p) => p.name === name)) return { ok: false, message: `duplicate parameter name {${name}}` };
    params.push({ name, greedy });
  }
  return { ok: true, params };
}

/** The template with parameter names erased, so "/u/{id}" and "/u/{userId}" are recognised as the same path. */
export function templateShape(template: string): string {
  return template.replace(/\{[A-Za-z_][A-Za-z0-9_]*(\+)?\}/g, (_m, plus: string | undefined) => (plus ? '{+}' : '{}'));
}

/** The `{name}` / `{name+}` references in a replacePath, by name. */
export function referencedParams(replacePath: string): string[] {
  return [...replacePath.matchAll(/\{([^{}]*?)\+?\}/g)].map((m) => m[1] as string);
}
