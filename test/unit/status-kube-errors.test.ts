// How API failures from client-node 2.x are classified for retries and described in logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiException } from '@kubernetes/client-node';
import { describeApiError, httpStatusOf, isRetryable } from '../../controller/status/kube-errors.ts';

const status = (code: number, message: string): ApiException<string> =>
  new ApiException(code, 'Unknown API Status Code!', JSON.stringify({ kind: 'Status', status: 'Failure', message, code }), {});

test('conflicts, throttling, server errors and network failures are retried; client errors are not', () => {
  for (const code of [409, 429, 500, 503]) assert.equal(isRetryable(status(code, 'x')), true, String(code));
  for (const code of [400, 403, 404, 422]) assert.equal(isRetryable(status(code, 'x')), false, String(code));
  assert.equal(isRetryable(new Error('connect ECONNREFUSED 127.0.0.1:6443')), true);
  assert.equal(httpStatusOf(new Error('x')), undefined);
  assert.equal(httpStatusOf(status(404, 'x')), 404);
});

test('log descriptions carry the Status message, not the whole response dump', () => {
  assert.equal(describeApiError(status(409, 'the object has been modified')), 'HTTP 409: the object has been modified');
  assert.equal(describeApiError(new ApiException(401, 'Unauthorized', undefined, {})), 'HTTP 401');
  assert.equal(describeApiError(new ApiException(502, 'x', '<html>bad gateway</html>', {})), 'HTTP 502: <html>bad gateway</html>');
  assert.equal(describeApiError(new Error('socket hang up')), 'socket hang up');
});
