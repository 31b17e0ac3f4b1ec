// Apply-time validation (issue 3, section 6): the CRDs' structural schemas and CEL rules, served by a real
// kube-apiserver, reject common mistakes at `kubectl apply`, and the error text kubectl prints names the
// field and says what is wrong. Valid resources are created, with the schema's defaults filled in.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { kubeBinariesProblem, startControlPlane, type ControlPlane, type KubectlResult } from './control-plane.ts';

// Missing binaries fail this file loudly, once, with the command that builds them; the suites below are then
// skipped rather than each failing with the same message.
const missingBinaries = kubeBinariesProblem();
test('the kube test binaries are built', () => {
  if (missingBinaries !== undefined) assert.fail(missingBinaries);
});

let cp: ControlPlane;

const apply = (manifest: string): Promise<KubectlResult> => cp.kubectl(['apply', '-f', '-'], { stdin: manifest });

async function applyOk(manifest: string, created: RegExp): Promise<void> {
  const r = await apply(manifest);
  assert.equal(r.code, 0, `kubectl apply failed:\n${r.stderr}`);
  assert.match(r.stdout, created);
}

/** kubectl apply must fail, and what it prints must contain every expected piece. */
async function applyRejected(manifest: string, expected: (string | RegExp)[]): Promise<string> {
  const r = await apply(manifest);
  assert.notEqual(r.code, 0, `kubectl apply accepted it:\n${r.stdout}`);
  const text = r.stderr + r.stdout;
  if (process.env.GATEHOUSE_KUBE_PRINT) console.error(text);
  for (const e of expected) {
    if (typeof e === 'string') assert.ok(text.includes(e), `expected ${JSON.stringify(e)} in kubectl's output:\n${text}`);
    else assert.match(text, e);
  }
  return text;
}

function route(name: string, spec: string): string {
  return `apiVersion: gatehouse.dev/v1alpha1\nkind: ApiRoute\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n${indent(spec, 2)}\n`;
}
function authorizer(name: string, spec: string): string {
  return `apiVersion: gatehouse.dev/v1alpha1\nkind: Authorizer\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n${indent(spec, 2)}\n`;
}
function ratePolicy(name: string, spec: string): string {
  return `apiVersion: gatehouse.dev/v1alpha1\nkind: RatePolicy\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n${indent(spec, 2)}\n`;
}
/** Dedent `text` (YAML written inside the tests' template literals), then indent every line by n spaces. */
function indent(text: string, n: number): string {
  const lines = text.replace(/^\s*\n/, '').trimEnd().split('\n');
  const common = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0));
  return lines.map((l) => ' '.repeat(n) + l.slice(common)).join('\n');
}

/** A route with one rule whose body is `rule` (YAML under `- `). */
function oneRule(name: string, rule: string, extra = ''): string {
  return route(name, `hosts: ["${name}.example.com"]\n${extra}rules:\n  - ${indent(rule, 4).trimStart()}`);
}

describe('apply-time validation against a real API server', { skip: missingBinaries && 'kube test binaries missing: see the failure above' }, () => {
  before(
    async () => {
      cp = await startControlPlane();
      console.error(`[crd-validation] control plane up in ${cp.timings.totalMs} ms (${JSON.stringify(cp.timings)})`);
    },
    { timeout: 120_000 },
  );
  after(() => cp?.stop(), { timeout: 30_000 });

  describe('valid resources are created', () => {
    test('ApiRoute, with the schema defaults filled in by the API server', async () => {
      await applyOk(
        route(
          'petstore',
          `
  hosts: ["api.example.com", "*.pets.example.com"]
  basePath: /v1
  timeouts: { request: 10s }
  rules:
    - name: one-pet
      matches:
        - path: { type: Template, value: "/pets/{id}" }
          methods: [GET, PUT]
          headers: [{ name: x-tenant, type: Present }]
      backends:
        - service: { name: pets, port: http }
          weight: 90
        - url: http://pets-v2.example.com:8080/base
          weight: 10
      canary:
        header: { name: x-canary, value: always }
        backends: [{ service: { name: pets-v2, port: 8080 } }]
      rewrite: { replacePath: "/pet/{id}" }
      timeouts: { connect: 250ms, idle: 1m30s }
      maxBodySize: 1Mi
      cache: { ttl: 30s, varyHeaders: [accept] }
      authorizer: { name: jwt, scopes: ["pets:read"] }
      ratePolicies: [{ name: per-client }]
    - matches: [{ path: { type: Regex, value: "^/search/.*" } }]
      backends: [{ url: http://search.example.com }]
  `,
        ),
        /apiroute\.gatehouse\.dev\/petstore created/,
      );
      const got = await cp.kubectl(['get', 'apiroute', 'petstore', '-o', 'json']);
      assert.equal(got.code, 0, got.stderr);
      const spec = JSON.parse(got.stdout).spec;
      assert.equal(spec.stripBasePath, true, 'stripBasePath defaults to true');
      assert.equal(spec.rules[1].matches[0].path.type, 'Regex');
      assert.equal(spec.rules[1].backends[0].weight, 1, 'weight defaults to 1');
      assert.equal(spec.rules[0].canary.backends[0].weight, 1);
      assert.equal(spec.rules[0].matches[0].headers[0].type, 'Present');
    });

    test('Authorizer (JWT, API key, external), with defaults', async () => {
      await applyOk(
        authorizer(
          'jwt',
          `
  type: JWT
  jwt:
    issuer: https://issuer.example.com/
    audiences: [pets]
    jwks: { uri: https://issuer.example.com/.well-known/jwks.json }
    claimsToHeaders: [{ claim: sub, header: x-user }]
  `,
        ),
        /authorizer\.gatehouse\.dev\/jwt created/,
      );
      const got = JSON.parse((await cp.kubectl(['get', 'authorizer', 'jwt', '-o', 'json'])).stdout).spec;
      assert.deepEqual(got.jwt.algorithms, ['RS256']);
      assert.deepEqual(got.jwt.tokenLocation, { header: 'authorization', prefix: 'Bearer ' });
      assert.equal(got.jwt.clockSkew, '30s');
      assert.equal(got.jwt.jwks.cacheDuration, '10m');

      await applyOk(
        authorizer('keys', `type: APIKey\napiKey:\n  secretSelector: { matchLabels: { gatehouse.dev/api-key: "true" } }`),
        /authorizer\.gatehouse\.dev\/keys created/,
      );
      await applyOk(
        authorizer(
          'ext',
          `type: External\nexternal:\n  service: { name: authz, port: 8080, path: /check }\n  identitySources: [header:authorization]\n  failureMode: Allow`,
        ),
        /authorizer\.gatehouse\.dev\/ext created/,
      );
    });

    test('RatePolicy (token bucket and quota)', async () => {
      await applyOk(
        ratePolicy(
          'per-client',
          `
  limits:
    - name: burst
      key: [{ type: ClientIP }, { type: Header, name: x-tenant }]
      tokenBucket: { rate: 100, period: 1s, burst: 200 }
      scope: Global
      failureMode: Closed
    - name: monthly
      key: [{ type: Consumer }]
      quota: { limit: 1000000, period: Month }
  `,
        ),
        /ratepolicy\.gatehouse\.dev\/per-client created/,
      );
      const got = JSON.parse((await cp.kubectl(['get', 'ratepolicy', 'per-client', '-o', 'json'])).stdout).spec;
      assert.equal(got.limits[1].scope, 'Local');
      assert.equal(got.limits[1].failureMode, 'Open');
      assert.equal(got.limits[1].quota.timeZone, 'UTC');
      assert.equal(got.responseHeaders, 'Always');
    });

    test('RatePolicy with usage plans only', async () => {
      await applyOk(
        ratePolicy(
          'plans-only',
          `
  defaultPlan: free
  responseHeaders: WhenLimited
  plans:
    - name: free
      limits:
        - { name: daily, key: [{ type: Consumer }], quota: { limit: 1000, period: Day, timeZone: Europe/Paris }, scope: Global }
    - name: paid
      limits:
        - { name: throttle, key: [{ type: Consumer }], tokenBucket: { rate: 100 }, scope: Global }
  `,
        ),
        /ratepolicy\.gatehouse\.dev\/plans-only created/,
      );
    });

    test('ApiRoute with a request validation body schema: stored as written, nothing pruned', async () => {
      const schema = {
        $schema: 'http://json-schema.org/draft-04/schema#',
        title: 'Order',
        type: 'object',
        required: ['items'],
        properties: { items: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string', pattern: '^[A-Z]{3}$' } } } }, 'x-any': { example: [1, 'two', null] } },
      };
      await applyOk(oneRule('validated', `requestValidation: { requiredHeaders: [X-Tenant], bodySchema: ${JSON.stringify(schema)} }\nbackends: [{ url: http://orders.internal }]`), /apiroute\.gatehouse\.dev\/validated created/);
      const got = JSON.parse((await cp.kubectl(['get', 'apiroute', 'validated', '-o', 'json'])).stdout).spec;
      assert.deepEqual(got.rules[0].requestValidation.bodySchema, schema);
      // The suites below list what exists: this one was only about storage.
      assert.equal((await cp.kubectl(['delete', 'apiroute', 'validated'])).code, 0);
    });
  });

  describe('common mistakes are rejected by kubectl apply, naming the field', () => {
    test('all backend weights zero', async () => {
      await applyRejected(
        oneRule('zero-weights', `backends:\n  - { url: http://a.example.com, weight: 0 }\n  - { url: http://b.example.com, weight: 0 }`),
        ['The ApiRoute "zero-weights" is invalid', 'spec.rules[0].backends', 'at least one backend must have a weight above zero'],
      );
    });

    test('zero weights in a canary too', async () => {
      await applyRejected(
        oneRule(
          'zero-canary',
          `backends: [{ url: http://a.example.com }]\ncanary:\n  header: { name: x-canary, value: "1" }\n  backends: [{ url: http://b.example.com, weight: 0 }]`,
        ),
        ['spec.rules[0].canary.backends', 'at least one backend must have a weight above zero'],
      );
    });

    test('no backends', async () => {
      await applyRejected(oneRule('no-backends', 'backends: []'), [
        'The ApiRoute "no-backends" is invalid',
        'spec.rules[0].backends',
        'should have at least 1 items',
      ]);
      await applyRejected(oneRule('missing-backends', 'name: nothing'), ['spec.rules[0]', 'a rule sets exactly one of backends, directResponse or redirect']);
    });

    test('direct responses and redirects: exactly one action, no forwarding settings, no body on 204, a body file inside the folder', async () => {
      await applyOk(
        oneRule('mock', `directResponse:\n  status: 200\n  headers: { Content-Type: application/json }\n  body: { inline: '{"path":"\${request.path}"}' }`),
        /apiroute\.gatehouse\.dev\/mock created/,
      );
      await applyOk(oneRule('moved', 'redirect: { replacePrefix: /v2 }'), /apiroute\.gatehouse\.dev\/moved created/);
      const moved = JSON.parse((await cp.kubectl(['get', 'apiroute', 'moved', '-o', 'json'])).stdout) as { spec: { rules: Array<{ redirect: { statusCode: number } }> } };
      assert.equal(moved.spec.rules[0]?.redirect.statusCode, 302, 'statusCode defaults to 302');
      // The rest of this block lists only what it rejected.
      assert.equal((await cp.kubectl(['delete', 'apiroute', 'mock', 'moved'])).code, 0);
      await applyRejected(oneRule('both-actions', 'backends: [{ url: http://a.example.com }]\ndirectResponse: { status: 200 }'), [
        'spec.rules[0]',
        'a rule sets exactly one of backends, directResponse or redirect',
      ]);
      await applyRejected(oneRule('canary-redirect', 'redirect: { hostname: b.example.com }\ncanary:\n  header: { name: x-c, value: "1" }\n  backends: [{ url: http://c.example.com }]'), [
        'spec.rules[0].canary',
        'canary applies to rules with backends, not to directResponse or redirect',
      ]);
      await applyRejected(oneRule('body-204', 'directResponse: { status: 204, body: { inline: x } }'), ['spec.rules[0].directResponse.body', 'a 204 or 304 response has no body']);
      await applyRejected(oneRule('escaping-file', 'directResponse: { status: 200, body: { file: ../etc/passwd } }'), [
        'spec.rules[0].directResponse.body.file',
        'file must be a path relative to the config folder',
      ]);
      await applyRejected(oneRule('bad-code', 'redirect: { statusCode: 304 }'), ['spec.rules[0].redirect.statusCode', 'Unsupported value: 304']);
    });

    test('an empty requestValidation block (CEL)', async () => {
      await applyRejected(oneRule('empty-validation', 'requestValidation: {}\nbackends: [{ url: http://orders.internal }]'), [
        'spec.rules[0].requestValidation',
        'set at least one of bodySchema, requiredHeaders and requiredQuery',
      ]);
    });

    test('a backend with both service and url', async () => {
      await applyRejected(oneRule('both-targets', 'backends:\n  - { service: { name: pets, port: 80 }, url: http://pets.example.com }'), [
        'spec.rules[0].backends[0]',
        'a backend sets exactly one of service or url',
      ]);
    });

    test('a malformed duration', async () => {
      await applyRejected(oneRule('bad-duration', 'backends: [{ url: http://a.example.com }]\ntimeouts: { request: 10 seconds }'), [
        'spec.rules[0].timeouts.request',
        'Invalid value: "10 seconds"',
        'should match',
      ]);
    });

    test('CORS: credentials with the "*" origin (CEL), an origin with a path or without a scheme (pattern); a wildcard origin is fine', async () => {
      await applyRejected(oneRule('cors-star-creds', 'backends: [{ url: http://a.example.com }]', 'cors:\n  allowOrigins: ["*"]\n  allowCredentials: true\n'), [
        'spec.cors.allowOrigins',
        'allowCredentials cannot be used with the "*" origin',
      ]);
      await applyRejected(oneRule('cors-path', 'backends: [{ url: http://a.example.com }]\ncors:\n  allowOrigins: ["https://app.example.com/", "app.example.com"]'), [
        'spec.rules[0].cors.allowOrigins[0]',
        'spec.rules[0].cors.allowOrigins[1]',
        'should match',
      ]);
      const wildcard = oneRule('cors-wildcard', 'backends: [{ url: http://a.example.com }]', 'cors:\n  allowOrigins: ["https://*.example.com", "http://localhost:3000"]\n  allowCredentials: true\n');
      await applyOk(wildcard, /apiroute\.gatehouse\.dev\/cors-wildcard created/);
      const deleted = await cp.kubectl(['delete', 'apiroute', 'cors-wildcard']);
      assert.equal(deleted.code, 0, deleted.stderr);
    });

    test('basePath without a leading slash', async () => {
      await applyRejected(oneRule('bad-basepath', 'backends: [{ url: http://a.example.com }]', 'basePath: v1\n'), [
        'spec.basePath',
        'Invalid value: "v1"',
        'should match',
      ]);
    });

    test('an Exact path not starting with "/"', async () => {
      await applyRejected(
        oneRule('bad-path', 'matches: [{ path: { type: Exact, value: pets } }]\nbackends: [{ url: http://a.example.com }]'),
        ['spec.rules[0].matches[0].path.value', 'path value must start with "/" (except for type Regex)'],
      );
    });

    test('a rewrite with both replacePrefix and replacePath', async () => {
      await applyRejected(
        oneRule('bad-rewrite', 'backends: [{ url: http://a.example.com }]\nrewrite: { replacePrefix: /a, replacePath: /b }'),
        ['spec.rules[0].rewrite', 'set at most one of replacePrefix and replacePath'],
      );
    });

    test('an Authorizer of type JWT without a jwt block', async () => {
      await applyRejected(authorizer('jwt-missing', 'type: JWT\napiKey:\n  secretSelector: { matchLabels: { a: b } }'), [
        'The Authorizer "jwt-missing" is invalid',
        'set exactly the block that matches type: jwt for JWT, apiKey for APIKey, external for External',
      ]);
    });

    test('a rate limit with both tokenBucket and quota', async () => {
      await applyRejected(
        ratePolicy('both-kinds', 'limits:\n  - name: l\n    key: [{ type: ClientIP }]\n    tokenBucket: { rate: 10 }\n    quota: { limit: 100, period: Day }'),
        ['The RatePolicy "both-kinds" is invalid', 'spec.limits[0]', 'a limit sets exactly one of tokenBucket or quota'],
      );
    });

    test('a RatePolicy with neither limits nor plans', async () => {
      await applyRejected(ratePolicy('empty-policy', 'limits: []'), ['The RatePolicy "empty-policy" is invalid', 'a RatePolicy needs limits or plans']);
    });

    test('a misspelled field (kubectl strict field validation)', async () => {
      await applyRejected(oneRule('typo', 'backend: [{ url: http://a.example.com }]\nbackends: [{ url: http://a.example.com }]'), [
        'unknown field "spec.rules[0].backend"',
      ]);
    });

    test('several mistakes are reported together', async () => {
      const text = await applyRejected(
        oneRule('many', 'matches: [{ path: { type: Exact, value: pets } }]\nbackends: [{ url: http://a.example.com, weight: 0 }]', 'basePath: v1\n'),
        ['spec.basePath', 'spec.rules[0].matches[0].path.value', 'at least one backend must have a weight above zero'],
      );
      assert.equal(text.match(/^\* spec\./gm)?.length, 3, `one bullet per mistake:\n${text}`);
    });

    test('none of the rejected resources exist', async () => {
      const r = await cp.kubectl(['get', 'apiroutes,authorizers,ratepolicies', '-o', 'name']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n').sort(), [
        'apiroute.gatehouse.dev/petstore',
        'authorizer.gatehouse.dev/ext',
        'authorizer.gatehouse.dev/jwt',
        'authorizer.gatehouse.dev/keys',
        'ratepolicy.gatehouse.dev/per-client',
        'ratepolicy.gatehouse.dev/plans-only',
      ]);
    });
  });

  describe('kubectl get', () => {
    test('apiroutes shows the printer columns', async () => {
      const r = await cp.kubectl(['get', 'apiroutes']);
      assert.equal(r.code, 0, r.stderr);
      const [header, row] = r.stdout.trim().split('\n');
      assert.deepEqual(header?.split(/\s+/), ['NAME', 'HOSTS', 'ACCEPTED', 'PROGRAMMED', 'AGE']);
      assert.match(row ?? '', /^petstore\s+\["api\.example\.com","\*\.pets\.example\.com"\]\s+/);
      const wide = await cp.kubectl(['get', 'apiroutes', '-o', 'wide']);
      assert.match(wide.stdout.split('\n')[0] ?? '', /RESOLVEDREFS/);
    });

    test('short names and the gatehouse category', async () => {
      const r = await cp.kubectl(['get', 'ar,authz,rp', '-o', 'name']);
      assert.equal(r.code, 0, r.stderr);
      const all = await cp.kubectl(['get', 'gatehouse', '-o', 'name']);
      assert.equal(all.code, 0, all.stderr);
      assert.deepEqual(all.stdout.trim().split('\n').sort(), r.stdout.trim().split('\n').sort());
      assert.equal(all.stdout.trim().split('\n').length, 6);
    });
  });
});
