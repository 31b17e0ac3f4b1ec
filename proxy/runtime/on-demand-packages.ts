// Packages the proxy loads only when something needs them, not at start: ajv (and its dialects and formats) when a
// table has a route with a body schema, ioredis when Redis is configured, undici's index (fetch, WebSocket,
// EventSource, its HTTP cache, the mocks) only with a JWT or external authorizer: the proxy's connection pools
// take undici's Pool file alone. Loaded at start they cost an idle proxy that uses none of them ~7 MB of
// its resident set (docs/fleet.md, Memory).
//
// All are CommonJS, so they load with a synchronous require at first use: a table build that compiles a schema
// stays synchronous, and the package is there before the runtime that needs it is swapped in (a package that fails
// to load fails that compile, so the table is refused; no route is ever served without its validation).
import { createRequire } from 'node:module';
import type * as AjvModule from 'ajv';
import type * as Ajv2020Module from 'ajv/dist/2020.js';
import type Ajv4Module from 'ajv-draft-04';
import type formatsModule from 'ajv-formats';
import type * as IoredisModule from 'ioredis';
import type * as UndiciModule from 'undici';

const require = createRequire(import.meta.url);

export interface AjvPackages {
  Ajv: typeof AjvModule.Ajv;
  Ajv2020: typeof Ajv2020Module.Ajv2020;
  Ajv4: typeof AjvModule.Ajv;
  addFormats: (ajv: AjvModule.Ajv) => AjvModule.Ajv;
}

let ajv: AjvPackages | undefined;

/** ajv with the three dialects the proxy compiles (json-schema-compiler.ts). */
export function ajvPackages(): AjvPackages {
  if (ajv === undefined) {
    // ajv-draft-04 and ajv-formats export `default` (CommonJS built from TypeScript).
    const { Ajv } = require('ajv') as typeof AjvModule;
    const { Ajv2020 } = require('ajv/dist/2020.js') as typeof Ajv2020Module;
    const Ajv4 = (require('ajv-draft-04') as { default: typeof Ajv4Module }).default as unknown as typeof AjvModule.Ajv;
    const addFormats = (require('ajv-formats') as { default: typeof formatsModule }).default as unknown as AjvPackages['addFormats'];
    ajv = { Ajv, Ajv2020, Ajv4, addFormats };
  }
  return ajv;
}

/** ioredis (the Redis of Global rate limits and the shared cache tier). */
export function ioredisPackage(): typeof IoredisModule {
  return require('ioredis') as typeof IoredisModule;
}

/**
 * undici's Pool without the rest of undici, for the upstream connection pools, which only `dispatch()`: the
 * `request()`/`stream()` helpers are added to every dispatcher by undici's index, so a Pool from here has them only
 * once something loaded the index (undiciPackage()). The same class as undici's own export (its index requires this
 * file). undici has no `exports` map; test/e2e/image-files.test.ts loads the proxy's module graph from the production
 * dependencies, and every forwarded request uses this Pool, so a version that moves the file fails the tests.
 */
export function undiciPool(): typeof UndiciModule.Pool {
  return require('undici/lib/dispatcher/pool.js') as typeof UndiciModule.Pool;
}

/** All of undici: an external authorizer's decision requests and a JWKS fetch use its `request()`. */
export function undiciPackage(): typeof UndiciModule {
  return require('undici') as typeof UndiciModule;
}
