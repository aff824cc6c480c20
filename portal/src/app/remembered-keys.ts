/**
 * API keys the user just created and chose to keep for this browser tab: sessionStorage only (gone
 * when the tab closes), never sent to the server by the page. The streams panel offers them.
 */
export interface RememberedKey {
  name: string;
  key: string;
}
const SESSION_KEYS = 'pcrs.keys';

export function rememberedKeys(storage: Pick<Storage, 'getItem'> = sessionStorage): RememberedKey[] {
  try {
    const list = JSON.parse(storage.getItem(SESSION_KEYS) ?? '[]') as unknown;
    return Array.isArray(list) ? list.filter((k): k is RememberedKey => typeof k?.name === 'string' && typeof k?.key === 'string') : [];
  } catch {
    return [];
  }
}

export function rememberKey(entry: RememberedKey, storage: Pick<Storage, 'getItem' | 'setItem'> = sessionStorage): void {
  const list = rememberedKeys(storage).filter((k) => k.key !== entry.key);
  storage.setItem(SESSION_KEYS, JSON.stringify([...list, entry]));
}

export function forgetKeyByPrefix(prefix: string, storage: Pick<Storage, 'getItem' | 'setItem'> = sessionStorage): void {
  storage.setItem(SESSION_KEYS, JSON.stringify(rememberedKeys(storage).filter((k) => !k.key.startsWith(`pcrs_${prefix}_`))));
}
