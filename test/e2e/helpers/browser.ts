// The system Chromium for browser tests (Debian's `chromium`, which .ci/run installs when missing, driven by
// playwright-core with that binary; no browser download), and a loopback server for the page the browser loads.
import assert from 'node:assert/strict';
import { accessSync, constants } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type Browser } from 'playwright-core';

/** The system chromium on PATH (or /usr/bin), or undefined. */
export function findChromium(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), '/usr/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'chromium');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Headless Chromium, closed after the test. Never a silent skip: without the browser the test fails saying how to
 * install it. Call it after the servers are registered for closing, so the browser closes first (after hooks run in
 * reverse).
 */
export async function launchChromium(t: TestContext): Promise<Browser> {
  const executablePath = findChromium();
  if (executablePath === undefined) {
    assert.fail(
      'chromium not found on PATH (nor /usr/bin/chromium). This test drives the system Chromium (Debian package ' +
        '`chromium`; playwright-core downloads no browser). Install it with:\n\n' +
        '    .ci/run            (installs the missing system tools, then runs CI)\n' +
        'or  apt-get install -y --no-install-recommends chromium\n',
    );
  }
  const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'], timeout: 30_000 });
  t.after(() => browser.close());
  return browser;
}

/** A loopback HTTP server serving the page at `/`: its own origin, http://127.0.0.1:<port>. */
export async function startPageServer(html: () => string): Promise<{ server: Server; origin: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html());
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
