// A confirmation box followed by an API call, with success and error messages.
import { ElMessage, ElMessageBox } from 'element-plus';
import { useI18n } from 'vue-i18n';
import { errorMessage } from '../api/client.ts';

export function useConfirm(): (message: string, run: () => Promise<unknown>, danger?: boolean) => Promise<boolean> {
  const { t } = useI18n();
  return async (message, run, danger = false) => {
    try {
      await ElMessageBox.confirm(message, t('common.confirm'), {
        confirmButtonText: t('common.confirm'),
        cancelButtonText: t('common.cancel'),
        type: danger ? 'warning' : 'info',
      });
    } catch {
      return false;
    }
    try {
      await run();
      ElMessage.success(t('env.actionDone'));
      return true;
    } catch (err) {
      ElMessage.error(errorMessage(err));
      return false;
    }
  };
}
