// Certificates for TLS tests, made with the openssl CLI in a temp dir: CAs, server certificates they sign (with the
// DNS names and IPs given as SANs), and self-signed ones. EC P-256, valid for a day.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';

export interface TestCert {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

export interface TestPki {
  dir: string;
  /** A CA certificate (basicConstraints CA:TRUE). */
  ca(name: string): Promise<TestCert>;
  /** A server certificate for these names (DNS names or IP addresses), signed by `ca`, or self-signed without it. */
  server(name: string, names: string[], ca?: TestCert): Promise<TestCert>;
  remove(): Promise<void>;
}

function openssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { timeout: 20_000 }, (err, _stdout, stderr) => (err ? reject(new Error(`openssl ${args[0]}: ${stderr || err.message}`)) : resolve()));
  });
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'];

export async function makePki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-pki-'));
  let n = 0;
  const made = async (args: string[]): Promise<TestCert> => {
    const base = join(dir, `c${++n}`);
    const certFile = `${base}.crt`;
    const keyFile = `${base}.key`;
    await openssl(['req', '-x509', ...KEY, '-keyout', keyFile, '-out', certFile, ...args]);
    return { certFile, keyFile, certPem: await readFile(certFile, 'utf8'), keyPem: await readFile(keyFile, 'utf8') };
  };
  return {
    dir,
    ca: (name) => made(['-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']),
    server: (name, names, ca) => {
      const sans = names.map((h) => (isIP(h) === 0 ? `DNS:${h}` : `IP:${h}`)).join(',');
      const signer = ca === undefined ? [] : ['-CA', ca.certFile, '-CAkey', ca.keyFile];
      return made(['-subj', `/CN=${name}`, ...signer, '-addext', `subjectAltName=${sans}`, '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth']);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
