// Debian's nginx, run as our own child (daemon off) from a private prefix directory: once as the
// shared upstream (`return 200`), once as the nginx proxy_pass baseline, and (the tls group) terminating TLS with
// HTTP/2 and HTTP/1.1 by ALPN in front of the same upstream.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOOPBACK } from './ports.ts';
import { startProcess, type Started } from './child-processes.ts';

/** The small fixed body every request gets from the upstream. */
export const UPSTREAM_BODY = 'hello from the bench upstream\n';

export function nginxBinary(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(candidate)) return candidate;
  return 'nginx';
}

/** Paths nginx would otherwise put under /var: all inside the prefix so runs never collide. */
function commonConf(dir: string): string {
  return `
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
`;
}

function httpCommon(dir: string): string {
  return `
  access_log off;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  keepalive_timeout 120s;
  keepalive_requests 10000000;
`;
}

/** The cache cases' bodies: the path the upstream serves each at, and its bytes (printable, so it reads as text). */
export const CACHE_BODIES = {
  '1k': { path: '/cache-body/1k', body: 'c'.repeat(1023) + '\n' },
  '100k': { path: '/cache-body/100k', body: 'c'.repeat(102_399) + '\n' },
} as const;

export function upstreamConf(dir: string, port: number): string {
  // The cache cases' bodies as files (nginx refuses a config string above 4 KiB), in a folder of their own that nginx's
  // worker (user nobody when run as root) can read: the bench's temporary folder is private.
  const bodies = mkdtempSync(join(tmpdir(), 'gatehouse-bench-bodies-'));
  process.once('exit', () => rmSync(bodies, { recursive: true, force: true }));
  mkdirSync(join(bodies, 'cache-body'), { mode: 0o755 });
  chmodSync(bodies, 0o755);
  for (const { path, body } of Object.values(CACHE_BODIES)) writeFileSync(join(bodies, path), body, { mode: 0o644 });
  return `${commonConf(dir)}
http {${httpCommon(dir)}
  server {
    listen ${LOOPBACK}:${port};
    location /cache-body/ {
      root ${bodies};
      default_type text/plain;
      etag off;
    }
    location / {
      default_type text/plain;
      return 200 ${JSON.stringify(UPSTREAM_BODY)};
    }
  }
}
`;
}

/** The certificate and key files nginx terminates TLS with (tls-fixtures.ts). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/**
 * proxy_pass to the upstream with keep-alive. With `tls`: `ssl http2` on the listener (nginx 1.22's form of
 * `http2 on`), TLS 1.2/1.3 with nginx's default ciphers, so ALPN offers h2 and http/1.1 on one port as the gateway does.
 */
export function proxyConf(dir: string, port: number, upstreamPort: number, tls?: TlsFiles): string {
  const listen = tls === undefined ? `${LOOPBACK}:${port}` : `${LOOPBACK}:${port} ssl http2`;
  const certificate = tls === undefined ? '' : `
    ssl_certificate ${tls.certFile};
    ssl_certificate_key ${tls.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    http2_max_concurrent_streams 100;`;
  return `${commonConf(dir)}
http {${httpCommon(dir)}
  upstream bench_upstream {
    server ${LOOPBACK}:${upstreamPort};
    keepalive 64;
  }
  server {
    listen ${listen};${certificate}
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering on;
    }
  }
}
`;
}

/** Writes `conf` into `dir` and starts nginx in the foreground, pinned to `cpu`. */
export function startNginx(name: string, dir: string, conf: string, cpu: number | null): Started {
  mkdirSync(dir, { recursive: true });
  const confPath = join(dir, 'nginx.conf');
  writeFileSync(confPath, conf);
  // -e: the startup error log, before nginx has read the conf (the default is under /var/log).
  return startProcess(name, nginxBinary(), ['-p', dir, '-e', join(dir, 'error.log'), '-c', confPath, '-g', 'daemon off;'], cpu);
}
