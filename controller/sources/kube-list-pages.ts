// An informer's (re)list, fetched in pages the way client-go's reflector does. One 10k-object list arrives as one
// response: its JSON text and every object with its managedFields are in the heap at once before the informer
// hands out the first one to be slimmed, and V8 keeps the heap that peak needed. Pages of 500, each slimmed before
// the next is fetched, keep the peak to one page. All pages come from the snapshot the first one was served from,
// so the informer's watch resumes from the last page's resourceVersion as it would from a single list.
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';

export const LIST_PAGE_SIZE = 500;

export type PageFetch = (page: { limit: number; _continue?: string }) => Promise<KubernetesListObject<KubernetesObject>>;

export async function listInPages(fetchPage: PageFetch, eachItem: (obj: KubernetesObject) => void): Promise<KubernetesListObject<KubernetesObject>> {
  const items: KubernetesObject[] = [];
  let cont: string | undefined;
  for (;;) {
    const page = await fetchPage({ limit: LIST_PAGE_SIZE, ...(cont !== undefined && { _continue: cont }) });
    for (const obj of page.items) {
      eachItem(obj);
      items.push(obj);
    }
    // Typed lists (client-node's models) name the token `_continue`; custom object lists are plain JSON: `continue`.
    const { _continue: typed, continue: plain, remainingItemCount: _left, ...metadata } = (page.metadata ?? {}) as NonNullable<typeof page.metadata> & { continue?: string };
    cont = typed ?? plain;
    if (cont === undefined || cont === '') {
      return { ...page, metadata, items };
    }
  }
}
