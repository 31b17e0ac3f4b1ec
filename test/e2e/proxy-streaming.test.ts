// Large bodies stream through without buffering, and a slow reader on either side slows the other down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startEcho, startUpstream, streamBytes, type EchoReply } from './helpers/upstreams.ts';
import { backend, route, table } from './helpers/tables.ts';
import { closeAfter, startTestGateway } from './helpers/gateway.ts';

const MB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('50 MB up (chunked and with Content-Length) and 50 MB down stream through intact', async (t) => {
  const a = await startEcho('a');
  closeAfter(t, a);
  const gw = await startTestGateway(t, table([route('r', '/', ['be'], { maxBodyBytes: 64 * MB })], [backend('be', [a.port])]));
  const before = process.memoryUsage().rss;

  for (const chunked of [true, false]) {
    const started = performance.now();
    const reply = await upload(gw.port, 50 * MB, chunked);
    assert.equal(reply.status, 200);
    assert.equal((JSON.parse(reply.body) as EchoReply).bodyBytes, 50 * MB, `upload (${chunked ? 'chunked' : 'content-length'})`);
    t.diagnostic(`upload 50 MB ${chunked ? 'chunked' : 'content-length'}: ${Math.round(performance.now() - started)} ms`);
  }

  const started = performance.now();
  const down = await download(gw.port, `/?bytes=${50 * MB}`, 0);
  assert.equal(down.bytes, 50 * MB);
  t.diagnostic(`download 50 MB: ${Math.round(performance.now() - started)} ms`);
  // Informational only: client, upstream and gateway share this process, so RSS is no proof either way;
  // the two backpressure tests below are what show bodies are streamed, not buffered.
  t.diagnostic(`rss growth over 150 MB of traffic (whole test process): ${((process.memoryUsage().rss - before) / MB).toFixed(1)} MB`);
});

test('backpressure down: a client that stops reading stops the upstream from writing', async (t) => {
  const TOTAL = 200 * MB;
  let progress: { written: () => number } | undefined;
  const up = await startUpstream('big', (req, res) => {
    req.resume();
    progress = streamBytes(res, TOTAL);
  });
  closeAfter(t, up);
  const gw = await startTestGateway(t, table([route('r', '/', ['be'])], [backend('be', [up.port])]));
  const result = await download(gw.port, '/', 1_000, () => progress?.written() ?? 0);
  assert.equal(result.bytes, TOTAL);
  const writtenWhilePaused = result.writtenAtResume / MB;
  t.diagnostic(`upstream wrote ${writtenWhilePaused.toFixed(1)} MB of ${TOTAL / MB} MB while the client read nothing for 1 s`);
  assert.ok(writtenWhilePaused < 64, 'only socket buffers fill up; the upstream waits for the client');
});

test('backpressure up: an upstream that stops reading stops the gateway from reading the client', async (t) => {
  let resumeUpstream: (() => void) | undefined;
  const up = await startUpstream('stalled', (req, res) => {
    req.pause();
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => res.writeHead(200).end(String(bytes)));
    resumeUpstream = () => req.resume();
  });
  closeAfter(t, up);
  const gw = await startTestGateway(t, table([route('r', '/', ['be'], { maxBodyBytes: 1024 * MB, timeouts: { connectMs: 1_000, requestMs: 30_000, idleMs: 30_000 } })], [backend('be', [up.port])]));

  const TOTAL = 200 * MB;
  let accepted = 0;
  let done = false;
  const reply = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gw.port, method: 'POST', path: '/', headers: { 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(64 * 1024, 0x62);
    const pump = (): void => {
      while (accepted < TOTAL) {
        accepted += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      done = true;
      req.end();
    };
    pump();
  });
  await sleep(1_000);
  const acceptedWhileStalled = accepted / MB;
  t.diagnostic(`client could hand over ${acceptedWhileStalled.toFixed(1)} MB of ${TOTAL / MB} MB while the upstream read nothing for 1 s`);
  assert.equal(done, false);
  assert.ok(acceptedWhileStalled < 64, 'the gateway stops reading the client while the upstream is full');
  resumeUpstream?.();
  const r = await reply;
  assert.equal(r.status, 200);
  assert.equal(Number(r.body), TOTAL);
});

/** POSTs `total` bytes of generated data (respecting drain) and resolves with the reply. */
function upload(port: number, total: number, chunked: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(total) };
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(256 * 1024, 0x63);
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

/** GETs `path` and counts the bytes; with pauseMs > 0 reads nothing for that long first. */
function download(port: number, path: string, pauseMs: number, upstreamWritten: () => number = () => 0): Promise<{ bytes: number; writtenAtResume: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let bytes = 0;
      let writtenAtResume = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ bytes, writtenAtResume }));
      res.on('error', reject);
      if (pauseMs > 0) {
        res.pause();
        setTimeout(() => {
          writtenAtResume = upstreamWritten();
          res.resume();
        }, pauseMs);
      }
    });
    req.on('error', reject);
    req.end();
  });
}
