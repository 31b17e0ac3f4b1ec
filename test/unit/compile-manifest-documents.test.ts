// Parsed manifest documents → CompileInput: the gateway's kinds pass through, Kubernetes kinds are reduced to what
// the compiler reads, anything unusable is an error with its origin (never a throw).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { documentsToCompileInput } from '../../controller/sources/manifest-documents.ts';

const doc = (object: unknown, origin = 'f.yaml:1') => ({ object, origin });

test('gateway kinds become RawResources, namespace defaulting to "default"', () => {
  const route = { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'ApiRoute', metadata: { name: 'r' }, spec: {} };
  const policy = { kind: 'RatePolicy', metadata: { name: 'p', namespace: 'team' } };
  const { input, errors } = documentsToCompileInput([doc(route, 'a.yaml:1'), doc(policy, 'a.yaml:9')]);
  assert.deepEqual(errors, []);
  assert.deepEqual(input.resources, [
    { kind: 'ApiRoute', namespace: 'default', name: 'r', object: route, origin: 'a.yaml:1' },
    { kind: 'RatePolicy', namespace: 'team', name: 'p', object: policy, origin: 'a.yaml:9' },
  ]);
});

test('Service ports keep name and targetPort', () => {
  const { input, errors } = documentsToCompileInput([
    doc({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'ns' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 'web' }, { port: 81 }] } }),
  ]);
  assert.deepEqual(errors, []);
  assert.deepEqual(input.services, [{ namespace: 'ns', name: 's', ports: [{ name: 'http', port: 80, targetPort: 'web' }, { port: 81 }] }]);
});

test('EndpointSlice: service from its label, missing ready condition counts as ready, portless entries dropped', () => {
  const { input, errors } = documentsToCompileInput([
    doc({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 's-1', labels: { 'kubernetes.io/service-name': 's' } },
      ports: [{ name: 'http', port: 8080 }, { name: 'all' }],
      endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'], conditions: { ready: false } }, { addresses: ['10.0.0.3'], conditions: { ready: null } }],
    }),
    doc({ kind: 'EndpointSlice', metadata: { name: 'empty', labels: { 'kubernetes.io/service-name': 'e' } }, ports: null, endpoints: null }),
  ]);
  assert.deepEqual(errors, []);
  assert.deepEqual(input.endpointSlices, [
    {
      namespace: 'default',
      serviceName: 's',
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [
        { addresses: ['10.0.0.1'], ready: true },
        { addresses: ['10.0.0.2'], ready: false },
        { addresses: ['10.0.0.3'], ready: true },
      ],
    },
    { namespace: 'default', serviceName: 'e', ports: [], endpoints: [] },
  ]);
});

test('Secret: data is base64-decoded, stringData is plain and wins; labels kept', () => {
  const { input, errors } = documentsToCompileInput([
    doc({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'k', labels: { role: 'api-key' } },
      data: { a: Buffer.from('alpha').toString('base64'), b: Buffer.from('old').toString('base64') },
      stringData: { b: 'beta' },
    }),
  ]);
  assert.deepEqual(errors, []);
  assert.deepEqual(input.secrets, [{ namespace: 'default', name: 'k', labels: { role: 'api-key' }, data: { a: 'alpha', b: 'beta' } }]);
});

test('ConfigMap: data as written, binaryData decoded, data wins for the same key; labels kept', () => {
  const { input, errors } = documentsToCompileInput([
    doc({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'schemas', namespace: 'shop', labels: { 'gatehouse.dev/config': '' } },
      data: { 'order.json': '{"type":"object"}', b: 'text' },
      binaryData: { page: Buffer.from('<h1>hi</h1>').toString('base64'), b: Buffer.from('binary').toString('base64') },
    }),
    doc({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'empty' } }),
  ]);
  assert.deepEqual(errors, []);
  assert.deepEqual(input.configMaps, [
    { namespace: 'shop', name: 'schemas', labels: { 'gatehouse.dev/config': '' }, data: { page: '<h1>hi</h1>', b: 'text', 'order.json': '{"type":"object"}' } },
    { namespace: 'default', name: 'empty', labels: {}, data: {} },
  ]);
});

test('a List expands into its items', () => {
  const { input, errors } = documentsToCompileInput([
    doc({ apiVersion: 'v1', kind: 'List', items: [{ kind: 'ApiRoute', metadata: { name: 'a' } }, { kind: 'Widget', metadata: { name: 'w' } }] }, 'l.yaml:1'),
  ]);
  assert.equal(input.resources.length, 1);
  assert.deepEqual(errors, [{ origin: 'l.yaml:1#items[1]', message: 'Widget w: unsupported kind "Widget" (expected ApiRoute, Authorizer, RatePolicy, Service, EndpointSlice, Secret, ConfigMap)' }]);
});

test('unusable documents become errors with their origin, never throws', () => {
  const { input, errors } = documentsToCompileInput([
    doc('just a string', 'a.yaml:1'),
    doc([1, 2], 'a.yaml:2'),
    doc({ metadata: { name: 'x' } }, 'a.yaml:3'),
    doc({ kind: 'ApiRoute', metadata: {} }, 'a.yaml:4'),
    doc({ kind: 'ApiRoute' }, 'a.yaml:5'),
    doc({ kind: 'ConfigMap', metadata: { name: 'c' }, data: { schema: 7 } }, 'a.yaml:6'),
    doc({ kind: 'ApiRoute', metadata: { name: 'r', namespace: 7 } }, 'a.yaml:7'),
    doc({ kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 'eighty' }] } }, 'a.yaml:8'),
    doc({ kind: 'EndpointSlice', metadata: { name: 'e' } }, 'a.yaml:9'),
    doc({ kind: 'Secret', metadata: { name: 'k' }, data: { token: 'not base64!!' } }, 'a.yaml:10'),
  ]);
  assert.deepEqual(input, { resources: [], services: [], endpointSlices: [], secrets: [], configMaps: [] });
  assert.deepEqual(
    errors.map((e) => e.origin),
    ['a.yaml:1', 'a.yaml:2', 'a.yaml:3', 'a.yaml:4', 'a.yaml:5', 'a.yaml:6', 'a.yaml:7', 'a.yaml:8', 'a.yaml:9', 'a.yaml:10'],
  );
  assert.match(errors[7]?.message ?? '', /^Service s: spec\.ports\[0\]\.port: /);
  assert.match(errors[8]?.message ?? '', /kubernetes\.io\/service-name/);
  assert.match(errors[5]?.message ?? '', /^ConfigMap c: data\.schema: /);
  assert.equal(errors[9]?.message, 'Secret k: data.token: is not valid base64');
});
