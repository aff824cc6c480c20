import type { ComponentType } from 'preact';

/** What a screen receives: the path's `:parameters` and the query. */
export interface ScreenProps {
  params: Record<string, string>;
  query: URLSearchParams;
}

export type Screen = ComponentType<ScreenProps>;
