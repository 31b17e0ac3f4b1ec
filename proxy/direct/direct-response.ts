// A route's directResponse: status, headers and body templates parsed once per table, rendered per request. A body
// without placeholders is one Buffer made at build time; with them, only the substituted values are escaped.
import type { HeaderBag } from '../forward/header-changes.ts';
import { clientResponseHeaders } from '../forward/upstream-response-headers.ts';
import { sendError } from '../server/error-response.ts';
import type { TableDirectResponse } from '../table/table-schema.ts';
import type { AnswerRequest, Answered, RouteAnswer } from './route-answer.ts';
import { parseTemplate, type ResponseTemplate, type TemplateRequest } from './response-template.ts';

const EMPTY = Buffer.alloc(0);

export function directAnswer(direct: TableDirectResponse): RouteAnswer {
  const headers = direct.headers.map(([name, value]): [string, ResponseTemplate] => [name, parsed(value, 'header')]);
  const fixedHeaders = headers.every(([, t]) => t.fixed !== null);
  const body = direct.body === undefined ? null : parsed(direct.body, direct.escape);
  const fixedBody = body === null ? EMPTY : body.fixed === null ? null : Buffer.from(body.fixed);
  const status = direct.status;
  // Only a 204 or 304 goes without a body; both are refused with one by the schema.
  const bodyless = status === 204 || status === 304;

  return {
    send(a: AnswerRequest): Answered {
      const treq: TemplateRequest | null = fixedHeaders && fixedBody !== null ? null : { path: a.target.path, query: a.target.query, headers: a.req.headers, consumer: a.consumer };
      const bag: HeaderBag = {};
      for (const [name, template] of headers) bag[name] = template.fixed ?? template.render(treq as TemplateRequest);
      const bytes = fixedBody ?? Buffer.from((body as ResponseTemplate).render(treq as TemplateRequest));
      const out = clientResponseHeaders(bag, a.requestId, a.responseHeaders, a.policyHeaders, a.cors);
      if (!bodyless) out['content-length'] = String(bytes.length);
      try {
        a.res.writeHead(status, out);
      } catch {
        // A value Node refuses (a route's responseHeaders change; substitutions are made safe): nothing was sent yet.
        return { status: 500, bytesOut: sendError(a.res, 500, 'invalid direct response header', a.requestId), error: 'invalid direct response header' };
      }
      const sendBody = !bodyless && a.method !== 'HEAD' && bytes.length > 0;
      if (sendBody) a.res.write(bytes);
      a.res.end();
      return { status, bytesOut: sendBody ? bytes.length : 0, error: null };
    },
  };
}

/** The table schema parsed every template already, so this cannot fail for a table the proxy accepted. */
function parsed(text: string, escape: Parameters<typeof parseTemplate>[1]): ResponseTemplate {
  const t = parseTemplate(text, escape);
  if (!t.ok) throw new Error(`unparsable template in an accepted table: ${t.error}`);
  return t.template;
}
