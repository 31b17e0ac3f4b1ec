import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { LIST_PAGE_SIZE, listInPages } from '../../controller/sources/kube-list-pages.ts';

const obj = (name: string): KubernetesObject => ({ metadata: { name, namespace: 'ns' } });

test('a list is fetched page by page, each item handed over before the next page, the last page’s resourceVersion kept', async () => {
  const requests: { limit: number; _continue?: string }[] = [];
  const seen: string[] = [];
  const pages: KubernetesListObject<KubernetesObject>[] = [
    // Custom object lists are plain JSON (`continue`); typed lists use `_continue`.
    { metadata: { resourceVersion: '7', continue: 'tok-1' } as never, items: [obj('a'), obj('b')] },
    { metadata: { resourceVersion: '7', _continue: 'tok-2', remainingItemCount: 1 }, items: [obj('c')] },
    { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '7' }, items: [obj('d')] },
  ];
  const list = await listInPages(
    async (page) => {
      requests.push(page);
      assert.equal(seen.length, [0, 2, 3][requests.length - 1], 'items of earlier pages are handed over before the next fetch');
      return pages[requests.length - 1] as KubernetesListObject<KubernetesObject>;
    },
    (o) => seen.push(o.metadata?.name ?? ''),
  );
  assert.deepEqual(requests, [{ limit: LIST_PAGE_SIZE }, { limit: LIST_PAGE_SIZE, _continue: 'tok-1' }, { limit: LIST_PAGE_SIZE, _continue: 'tok-2' }]);
  assert.deepEqual(seen, ['a', 'b', 'c', 'd']);
  assert.deepEqual(list.items.map((o) => o.metadata?.name), ['a', 'b', 'c', 'd']);
  assert.deepEqual(list.metadata, { resourceVersion: '7' });
  assert.equal(list.kind, 'List');
});
