// A proxy reads its token file at every connection attempt: a token rotated on disk (as kubelet does for a mounted
// Secret) is used from the next attempt on, with no restart; a token file that goes missing keeps the last good token.
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ControllerSubscription } from '../../proxy/subscribe/controller-subscription.ts';
import { ReconnectBackoff } from '../../proxy/subscribe/reconnect-backoff.ts';
import { CredentialFiles } from '../../proxy/subscribe/stream-credentials.ts';
import { routingTableSchema } from '../../proxy/table/table-schema.ts';
import { startTestGateway } from '../e2e/helpers/gateway.ts';
import { backend, route, table } from '../e2e/helpers/tables.ts';

import { quiet, startStream, TOKEN } from './stream-fixture.ts';
import { eventually } from '../support/wait-for.ts';

test('a token fixed on disk is picked up at the next reconnect; a vanished token file keeps the last good token', async (t) => {
  const { stream, fleet, url } = await startStream(t);
  stream.publish(routingTableSchema.parse(table([route('r1', '/one', ['be'])], [backend('be', [9])], 'v1')));
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-creds-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 'an-outdated-token-0123456789\n');
  const credentials = await CredentialFiles.open(tokenFile, undefined, quiet);
  assert.ok(typeof credentials !== 'string');

  const gateway = await startTestGateway(t, undefined);
  const subscription = new ControllerSubscription({ url, credentials: () => credentials.current(), name: 'rotating', gateway, logger: quiet, backoff: new ReconnectBackoff(50, 200) });
  subscription.start();
  t.after(() => subscription.close());

  // Refused with the outdated token: it keeps retrying and serves nothing.
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(gateway.version(), undefined);
  assert.equal(fleet.list().length, 0);

  await writeFile(tokenFile, `${TOKEN}\n`);
  await eventually(async () => gateway.version() === 'v1', 'connects with the token now on disk and serves v1', 10_000);
  assert.equal(subscription.connects, 1);

  // The file disappears (a Secret being re-mounted): the last good token still works for the next connection.
  await rm(tokenFile);
  assert.deepEqual(await credentials.current(), { token: TOKEN });
});

test('a missing or empty token file at start is an error, not a silent empty token', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-creds-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.match(String(await CredentialFiles.open(join(dir, 'nope'), undefined, quiet)), /cannot read the token file .*nope: ENOENT/);
  await writeFile(join(dir, 'empty'), '\n');
  assert.match(String(await CredentialFiles.open(join(dir, 'empty'), undefined, quiet)), /empty is empty/);
});
