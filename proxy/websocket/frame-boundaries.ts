// Where frames begin and end in a piped WebSocket byte stream, read from the frame headers alone (2–14 bytes a frame;
// payloads are skipped, never copied or unmasked). Plain mode needs it for two things: the gateway may only write its
// own Close frame between two frames (a control frame may sit between the fragments of a message, RFC 6455 §5.4, but
// not inside a frame), and the close code a peer sends, for the metrics.

const OPCODE_CLOSE = 0x8;

export class FrameBoundaries {
  /** Header bytes seen of the frame being read; 0 between frames. */
  #have = 0;
  /** Header length of that frame once its first two bytes are known. */
  #need = 2;
  readonly #header = Buffer.alloc(14);
  /** Payload bytes of the current frame still to come. */
  #remaining = 0;
  /** Reading a Close frame's payload: its first two bytes (unmasked) are the code. */
  #closeCodeBytes = -1;
  #closeCode = 0;
  #mask: Buffer | null = null;
  #payloadAt = 0;
  /** The code of the last Close frame seen (1005 when it carried none); 0 before any. */
  closeCode = 0;

  /** True between two frames. */
  get atBoundary(): boolean {
    return this.#have === 0 && this.#remaining === 0;
  }

  /**
   * Reads `chunk`; returns the offset just after the first frame that ends in it when `stopAtBoundary` (the rest is
   * not read), else chunk.length. With `stopAtBoundary` and already at a boundary it returns 0.
   */
  feed(chunk: Buffer, stopAtBoundary = false): number {
    if (stopAtBoundary && this.atBoundary) return 0;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.#remaining > 0) {
        const skip = Math.min(this.#remaining, n - i);
        if (this.#closeCodeBytes >= 0) this.#readCloseCode(chunk, i, skip);
        this.#remaining -= skip;
        i += skip;
        if (this.#remaining === 0 && stopAtBoundary) return i;
        continue;
      }
      this.#header[this.#have++] = chunk[i++] as number;
      if (this.#have === 2) {
        const second = this.#header[1] as number;
        const len7 = second & 0x7f;
        this.#need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (second & 0x80 ? 4 : 0);
      }
      if (this.#have >= 2 && this.#have === this.#need) {
        this.#startPayload();
        if (this.#remaining === 0 && stopAtBoundary) return i;
      }
    }
    return n;
  }

  #startPayload(): void {
    const h = this.#header;
    const second = h[1] as number;
    const len7 = second & 0x7f;
    let at = 2;
    let length = len7;
    if (len7 === 126) {
      length = h.readUInt16BE(2);
      at = 4;
    } else if (len7 === 127) {
      length = Number(h.readBigUInt64BE(2));
      at = 10;
    }
    this.#mask = second & 0x80 ? h.subarray(at, at + 4) : null;
    this.#have = 0;
    this.#need = 2;
    this.#remaining = length;
    const opcode = (h[0] as number) & 0x0f;
    if (opcode === OPCODE_CLOSE) {
      this.closeCode = 1005; // no status, unless the payload has one
      if (length >= 2) {
        this.#closeCodeBytes = 0;
        this.#closeCode = 0;
        this.#payloadAt = 0;
      }
    }
  }

  #readCloseCode(chunk: Buffer, from: number, count: number): void {
    for (let k = 0; k < count && this.#closeCodeBytes < 2; k++) {
      let byte = chunk[from + k] as number;
      if (this.#mask !== null) byte ^= this.#mask[this.#payloadAt & 3] as number;
      this.#payloadAt++;
      this.#closeCode = (this.#closeCode << 8) | byte;
      this.#closeCodeBytes++;
    }
    if (this.#closeCodeBytes === 2) {
      this.closeCode = this.#closeCode;
      this.#closeCodeBytes = -1;
    }
  }
}
