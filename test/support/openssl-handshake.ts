// One TLS handshake by `openssl s_client -msg`, which prints every handshake message it receives (decrypted, TLS 1.3
// included): the one way here to see whether a server sent a CertificateRequest at all. Node's TLS client cannot tell
// (it has no client-certificate callback), and s_client's "No client certificate CA names sent" is printed both when
// the request came without names and when there was no request.
import { spawn } from 'node:child_process';

export interface OpensslHandshake {
  /** The server sent a CertificateRequest handshake message. */
  certificateRequested: boolean;
  /** The CA names the request listed ("CN = …" lines, as s_client prints them). */
  caNames: string[];
  /** The certificate the server sent (its subject line), '' when the handshake failed before one. */
  subject: string;
  output: string;
}

/** Handshake with 127.0.0.1:`port` for `servername` (SNI), TLS 1.2 or 1.3, no client certificate; closes at once. */
export function opensslHandshake(port: number, servername: string, version: 'tls1_2' | 'tls1_3'): Promise<OpensslHandshake> {
  return new Promise((resolve, reject) => {
    // stdin ignored: s_client sees EOF right after the handshake and closes the connection.
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', servername, `-${version}`, '-msg'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', () => {
      clearTimeout(timer);
      const lines = output.split('\n');
      const start = lines.indexOf('Acceptable client certificate CA names');
      const caNames: string[] = [];
      for (let i = start + 1; start >= 0 && i < lines.length && /^[A-Za-z]+ = /.test(lines[i] as string); i++) caNames.push(lines[i] as string);
      resolve({
        certificateRequested: /^<<< TLS [0-9.]+, Handshake \[length [0-9a-f]+\], CertificateRequest$/m.test(output),
        caNames,
        subject: /^subject=(.*)$/m.exec(output)?.[1] ?? '',
        output,
      });
    });
  });
}
