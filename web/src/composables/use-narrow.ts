// True at phone width (follows the viewport), for layouts that CSS alone cannot switch (component props).
import { onBeforeUnmount, ref, type Ref } from 'vue';

export function useNarrow(maxWidth = 600): Ref<boolean> {
  const query = window.matchMedia(`(max-width: ${maxWidth}px)`);
  const narrow = ref(query.matches);
  const update = (e: MediaQueryListEvent) => {
    narrow.value = e.matches;
  };
  query.addEventListener('change', update);
  onBeforeUnmount(() => query.removeEventListener('change', update));
  return narrow;
}
