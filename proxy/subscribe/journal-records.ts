// The table journal's framing: each record is [payload length: u32 LE][CRC-32 of the payload: u32 LE][payload: UTF-8
// JSON]. A reader takes records up to the first one that is cut short (a crash mid-append) or whose checksum does not
// match (a torn or garbled write), and reports how many bytes were good: everything after that is dropped, so what is
// replayed is always a prefix of what was appended.
import { crc32 } from 'node:zlib';

const HEADER_BYTES = 8;
/** Far above any delta the stream accepts; a length beyond it is garbage, not a record. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export function encodeRecord(payload: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(payload));
  const record = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  record.writeUInt32LE(body.length, 0);
  record.writeUInt32LE(crc32(body), 4);
  body.copy(record, HEADER_BYTES);
  return record;
}

export interface DecodedRecords {
  /** Each good record's payload, parsed (not yet validated: the caller knows what it expects). */
  records: unknown[];
  /** Bytes from the start that hold whole, good records: where the next append belongs. */
  goodBytes: number;
  /** Why reading stopped before the end, if it did. */
  stopped?: string;
}

export function decodeRecords(bytes: Buffer): DecodedRecords {
  const records: unknown[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < HEADER_BYTES) return { records, goodBytes: at, stopped: `record at byte ${at} cut short (header)` };
    const length = bytes.readUInt32LE(at);
    if (length > MAX_RECORD_BYTES) return { records, goodBytes: at, stopped: `record at byte ${at} has an impossible length` };
    const end = at + HEADER_BYTES + length;
    if (end > bytes.length) return { records, goodBytes: at, stopped: `record at byte ${at} cut short (${bytes.length - at - HEADER_BYTES} of ${length} bytes)` };
    const body = bytes.subarray(at + HEADER_BYTES, end);
    if (crc32(body) !== bytes.readUInt32LE(at + 4)) return { records, goodBytes: at, stopped: `record at byte ${at} fails its checksum` };
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      return { records, goodBytes: at, stopped: `record at byte ${at} is not JSON` };
    }
    records.push(payload);
    at = end;
  }
  return { records, goodBytes: at };
}
