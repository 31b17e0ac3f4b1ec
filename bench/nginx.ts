// Debian's nginx, run as our own child (daemon off) from a private prefix directory: once as the
// shared upstream (`return 200`), once as the nginx proxy_pass baseline.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
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

export function upstreamConf(dir: string, port: number): string {
  return `${commonConf(dir)}
http {${httpCommon(dir)}
  server {
    listen ${LOOPBACK}:${port};
    location / {
      default_type text/plain;
      return 200 ${JSON.stringify(UPSTREAM_BODY)};
    }
  }
}
`;
}

export function proxyConf(dir: string, port: number, upstreamPort: number): string {
  return `${commonConf(dir)}
http {${httpCommon(dir)}
  upstream bench_upstream {
    server ${LOOPBACK}:${upstreamPort};
    keepalive 64;
  }
  server {
    listen ${LOOPBACK}:${port};
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
