import { useMessage } from 'naive-ui';
import { useI18n } from 'vue-i18n';
import { ApiError } from '../../../api/errors.ts';

/** Toasts; an error shows the server's message (it says what to do), or a friendly fallback. */
export function useNotify() {
  const message = useMessage();
  const { t } = useI18n();
  function describe(err: unknown): string {
    if (err instanceof ApiError) {
      if (err.status === 0) return t('errors.network');
      return err.message || t('errors.unknown', { code: err.code });
    }
    return t('errors.unknown', { code: err instanceof Error ? err.message : String(err) });
  }
  return {
    success: (text: string) => message.success(text),
    info: (text: string) => message.info(text),
    warning: (text: string) => message.warning(text, { duration: 5000 }),
    error: (err: unknown) => message.error(describe(err), { duration: 6000, closable: true }),
    describe,
  };
}
