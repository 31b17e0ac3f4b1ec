import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { SharedConnectionKubeConfig } from '../../controller/sources/kube-shared-connections.ts';

function tlsConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: Buffer.from('not really a CA').toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

async function dispatcherOf(kc: KubeConfig): Promise<unknown> {
  const ctx = new RequestContext('https://127.0.0.1:6443/api', HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  assert.equal(ctx.getHeaders()['Authorization'], 'Bearer secret-token', 'authentication is still applied per request');
  return ctx.getDispatcher();
}

test('client-node alone builds a dispatcher (a connection pool) per request; the shared config reuses one', async () => {
  const plain = tlsConfig();
  const a = await dispatcherOf(plain);
  assert.ok(a !== undefined);
  assert.notEqual(a, await dispatcherOf(plain), 'client-node now reuses dispatchers itself: SharedConnectionKubeConfig may no longer be needed');

  const shared = SharedConnectionKubeConfig.from(plain);
  const first = await dispatcherOf(shared);
  assert.ok(first !== undefined);
  assert.equal(await dispatcherOf(shared), first);
  assert.equal(shared.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
  await shared.closeConnections();
});
