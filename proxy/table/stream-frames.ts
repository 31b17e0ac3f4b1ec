// How stream messages become WebSocket frames and back. Small messages are text frames of JSON; tables are
// gzip'd into binary frames once per version (the controller then sends the same bytes to every proxy, instead of
// permessage-deflate compressing them again per connection). zlib runs on the thread pool: neither side's event loop
// does the compression work.
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** A decompressed message larger than this is refused (a bound on memory, well above a 10k-route part). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export function encodeText(message: unknown): string {
  return JSON.stringify(message);
}

export async function encodeCompressed(message: unknown): Promise<Buffer> {
  return gzipAsync(JSON.stringify(message), { level: 6 });
}

/** Frame → JSON (not yet validated: the caller runs it through the schema). Throws on bad gzip or JSON. */
export async function decodeFrame(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): Promise<unknown> {
  const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  const text = isBinary ? (await gunzipAsync(bytes, { maxOutputLength: MAX_MESSAGE_BYTES })).toString('utf8') : bytes.toString('utf8');
  return JSON.parse(text);
}
