// Environment actions (start, start without GPUs, stop, restart, rotate password, delete/release), each behind a confirmation.
import { useI18n } from 'vue-i18n';
import { api } from '../api/client.ts';
import type { AccessInfo, Environment } from '../api/types.ts';
import { useConfirm } from './use-confirm.ts';

export type EnvAction = 'start' | 'startNoGpu' | 'stop' | 'restart' | 'rotate' | 'delete';

export function useEnvActions(after: (action: EnvAction, result?: AccessInfo) => void) {
  const { t } = useI18n();
  const confirm = useConfirm();
  return async (env: Environment, action: EnvAction): Promise<void> => {
    let result: AccessInfo | undefined;
    const name = env.name;
    let ok: boolean;
    if (action === 'delete') {
      ok = await confirm(
        t(env.type === 'physical' ? 'env.confirmRelease' : 'env.confirmDelete', { name }),
        () => api(`/environments/${env.id}`, { method: 'DELETE' }),
        true,
      );
    } else if (action === 'rotate') {
      ok = await confirm(
        t('env.confirmRotate', { name }),
        async () => {
          result = await api<AccessInfo>(`/environments/${env.id}/rotate-password`, { method: 'POST' });
        },
        true,
      );
    } else if (action === 'startNoGpu') {
      ok = await confirm(
        t('env.confirmStartNoGpu', { name }),
        () => api(`/environments/${env.id}/start`, { method: 'POST', body: { gpu: false } }),
        false,
      );
    } else {
      ok = await confirm(
        t('env.confirmAction', { action: t(`env.${action}`), name }),
        () => api(`/environments/${env.id}/${action}`, { method: 'POST' }),
        action !== 'start',
      );
    }
    if (ok) after(action, result);
  };
}
