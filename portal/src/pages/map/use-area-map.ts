import type { RefObject } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AreaMap } from './area-map.js';

export type AreaMapState = 'off' | 'loading' | 'ready' | 'failed';

/**
 * The map of a screen that asks for an area, loaded with OpenLayers (its own chunk) into `target`
 * once `active` — after the form is shown, so the form never waits for it — and disposed with the
 * screen. `map.current` is the map once `state` is 'ready'.
 */
export function useAreaMap(target: RefObject<HTMLElement | null>, view: string | null, active = true): { map: { readonly current: AreaMap | null }; state: AreaMapState } {
  const map = useRef<AreaMap | null>(null);
  const [state, setState] = useState<AreaMapState>(active ? 'loading' : 'off');
  useEffect(() => {
    if (!active || map.current) return;
    let live = true;
    setState('loading');
    import('./area-map.js')
      .then(({ createAreaMap }) => createAreaMap(target.current as HTMLElement, view))
      .then(
        (m) => {
          if (!live) return m.dispose();
          map.current = m;
          setState('ready');
        },
        () => live && setState('failed'),
      );
    return () => {
      live = false;
    };
  }, [active]);
  useEffect(
    () => () => {
      map.current?.dispose();
      map.current = null;
    },
    [],
  );
  return { map, state };
}
