// Runs a callback every few seconds while the component is mounted and the tab is visible.
import { onBeforeUnmount, onMounted } from 'vue';

export function useInterval(fn: () => void | Promise<void>, ms: number): void {
  let timer: ReturnType<typeof setInterval> | undefined;
  let busy = false;
  const tick = async (): Promise<void> => {
    if (busy || document.visibilityState === 'hidden') return;
    busy = true;
    try {
      await fn();
    } finally {
      busy = false;
    }
  };
  onMounted(() => {
    timer = setInterval(() => void tick(), ms);
  });
  onBeforeUnmount(() => clearInterval(timer));
}
