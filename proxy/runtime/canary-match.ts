// Does a request opt into the canary? A header equal to a value, or a cookie equal to a value.
import type { IncomingHttpHeaders } from 'node:http';

export interface CanaryTrigger {
  header?: { name: string; value: string };
  cookie?: { name: string; value: string };
}

export function wantsCanary(headers: IncomingHttpHeaders, trigger: CanaryTrigger): boolean {
  if (trigger.header !== undefined && headers[trigger.header.name] === trigger.header.value) return true;
  if (trigger.cookie !== undefined) {
    const cookie = headers.cookie;
    if (cookie !== undefined && cookieEquals(cookie, trigger.cookie.name, trigger.cookie.value)) return true;
  }
  return false;
}

/** Scans "a=1; b=2" for name=value without splitting the header into an array. */
export function cookieEquals(header: string, name: string, value: string): boolean {
  let start = 0;
  const len = header.length;
  while (start < len) {
    while (start < len && (header.charCodeAt(start) === 32 || header.charCodeAt(start) === 59)) start++;
    let end = header.indexOf(';', start);
    if (end === -1) end = len;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end && eq - start === name.length && header.startsWith(name, start)) {
      let valueEnd = end;
      while (valueEnd > eq + 1 && header.charCodeAt(valueEnd - 1) === 32) valueEnd--;
      if (valueEnd - eq - 1 === value.length && header.startsWith(value, eq + 1)) return true;
    }
    start = end + 1;
  }
  return false;
}
