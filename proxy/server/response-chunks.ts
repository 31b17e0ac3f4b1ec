// Writes a response body a chunk at a time, asking for the next chunk only once the socket has room for it ('drain'):
// a large page is never built whole, only about a chunk of it (beyond what the socket buffers) is in memory at a time,
// and the event loop gets a turn whenever the socket is full. A client that goes away stops the writing, and the chunk
// source's `finally` runs.
import type { ServerResponse } from 'node:http';

/** Resolves true once the whole body is written and the response ended; false when the client went away first. */
export async function writeChunks(res: ServerResponse, chunks: Iterable<Buffer>): Promise<boolean> {
  // 'close' before end() means the connection was lost (it also fires after a normal finish, by then unread).
  let gone = res.destroyed;
  const onClose = (): void => {
    gone = true;
  };
  res.once('close', onClose);
  try {
    for (const chunk of chunks) {
      if (gone) return false;
      if (chunk.length === 0) continue;
      if (!res.write(chunk)) await roomOrGone(res);
    }
    if (gone) return false;
    res.end();
    return true;
  } finally {
    res.off('close', onClose);
  }
}

function roomOrGone(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
