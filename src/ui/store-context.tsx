/** Hands the app's store to components, so tests can mount them with a store over a fake worker. */
import { createContext, useContext } from 'react';
import { useStore, type StoreApi } from 'zustand';
import type { AppState } from './store';

export const StoreContext = createContext<StoreApi<AppState> | null>(null);

export function useAppStore<T>(selector: (s: AppState) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useAppStore: no <StoreContext.Provider> above this component');
  return useStore(store, selector);
}

export function useStoreApi(): StoreApi<AppState> {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useStoreApi: no <StoreContext.Provider> above this component');
  return store;
}
