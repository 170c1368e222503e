import { z } from 'zod';
import { buttonsSchema, buttonTemplates, field, formatSchema, templateSchema, variantLanguageIssues, variantsSchema } from './common.ts';
import { defineNode, l, type TemplateRef } from './spec.ts';

export const mediaSchema = z.object({
  kind: field(z.enum(['photo', 'video', 'audio', 'document', 'voice']), l('Kind', 'Тип'), undefined, 'select'),
  url: field(
    templateSchema.min(1),
    l('URL or file id', 'URL или file id'),
    l('Public URL, a Telegram file_id, or data:<type>;base64,… (bytes, e.g. from a code step; uploaded)', 'Публичный URL, file_id Telegram или data:<тип>;base64,… (байты, например из шага кода; загружаются)'),
    'template',
  ),
  caption: field(templateSchema.max(1024).optional(), l('Caption', 'Подпись'), undefined, 'template'),
});

export const messageConfigSchema = z
  .object({
    text: field(templateSchema.default(''), l('Text', 'Текст'), l('Supports {{ variables }}', 'Поддерживает {{ переменные }}'), 'template'),
    format: formatSchema,
    media: field(z.array(mediaSchema).max(10).optional(), l('Media', 'Медиа'), l('Photos, videos, audio or documents sent with the text', 'Фото, видео, аудио или документы вместе с текстом')),
    buttons: buttonsSchema.optional(),
    variants: variantsSchema(z.object({ text: templateSchema, buttons: buttonsSchema.optional() })),
    disablePreview: field(z.boolean().optional(), l('No link preview', 'Без превью ссылок'), undefined, 'switch'),
    edit: field(
      z.boolean().optional(),
      l('Edit the previous message', 'Изменить предыдущее сообщение'),
      l("Telegram: replaces the text and inline buttons of the session's last bot message instead of sending a new one", 'Telegram: заменяет текст и inline-кнопки последнего сообщения бота в сессии вместо нового'),
      'switch',
    ),
  })
  .refine((config) => config.text.trim() !== '' || (config.media?.length ?? 0) > 0, {
    message: 'A message needs text or at least one media item',
    path: ['text'],
  });
export type MessageConfig = z.infer<typeof messageConfigSchema>;

export const messageNode = defineNode({
  type: 'message',
  category: 'messaging',
  icon: 'message-square',
  label: l('Message', 'Сообщение'),
  help: l(
    'Sends a text with optional media and buttons, then continues without waiting.',
    'Отправляет текст с медиа и кнопками и идёт дальше, не дожидаясь ответа.',
  ),
  config: messageConfigSchema,
  defaults: { text: 'Hello, {{ user.first_name | default: "friend" }}!', format: 'plain' },
  ports: [{ id: 'next', required: false, label: l('Next', 'Далее') }],
  templates: (config) => {
    const refs: TemplateRef[] = [{ field: 'text', text: config.text }];
    config.media?.forEach((media, i) => {
      refs.push({ field: `media.${i}.url`, text: media.url });
      if (media.caption !== undefined) refs.push({ field: `media.${i}.caption`, text: media.caption });
    });
    refs.push(...buttonTemplates(config.buttons, 'buttons'));
    for (const [language, variant] of Object.entries(config.variants ?? {})) {
      refs.push({ field: `variants.${language}.text`, text: variant.text }, ...buttonTemplates(variant.buttons, `variants.${language}.buttons`));
    }
    return refs;
  },
  compileChecks: (config, context) => variantLanguageIssues(config.variants, context.languages),
});
