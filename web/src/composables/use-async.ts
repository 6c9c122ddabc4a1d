// Loads data with loading/error state and a reload(); used by every page for its loading, empty and error states.
import { ref, shallowRef, type Ref, type ShallowRef } from 'vue';
import { errorMessage } from '../api/client.ts';

export interface AsyncState<T> {
  data: ShallowRef<T | null>;
  loading: Ref<boolean>;
  error: Ref<string | null>;
  reload: () => Promise<void>;
}

export function useAsync<T>(load: () => Promise<T>, opts: { immediate?: boolean } = {}): AsyncState<T> {
  const data = shallowRef<T | null>(null);
  const loading = ref(false);
  const error = ref<string | null>(null);
  let seq = 0;
  const reload = async (): Promise<void> => {
    const mine = ++seq;
    loading.value = true;
    error.value = null;
    try {
      const value = await load();
      if (mine === seq) data.value = value;
    } catch (err) {
      if (mine === seq) error.value = errorMessage(err);
    } finally {
      if (mine === seq) loading.value = false;
    }
  };
  if (opts.immediate !== false) void reload();
  return { data, loading, error, reload };
}
