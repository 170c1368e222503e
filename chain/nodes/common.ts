import { z } from 'zod';
import { checkDuration } from '../duration.ts';
import { languageSchema } from '../graph.ts';
import { parseVariablePath } from '../scope.ts';
import { l, type FieldMeta, type Localized, type NodeIssue, type TemplateRef, type Widget } from './spec.ts';

/** Attaches form metadata to a schema. */
export function field<T extends z.ZodType>(schema: T, label: Localized, help?: Localized, widget?: Widget): T {
  const meta: FieldMeta = { label };
  if (help) meta.help = help;
  if (widget) meta.widget = widget;
  return schema.meta({ ...meta });
}

/** Telegram caps message text at 4096 characters; templates may expand, so allow some room. */
export const MAX_TEMPLATE_LENGTH = 8192;

export const templateSchema = z.string().max(MAX_TEMPLATE_LENGTH);

/** A variable the node writes: scope-qualified, writable scope. */
export const writableVariableSchema = z.string().superRefine((name, ctx) => {
  const check = parseVariablePath(name, { write: true });
  if (!check.ok) ctx.addIssue({ code: 'custom', message: check.message });
});

/** A variable path the node reads (any readable scope). */
export const readableVariableSchema = z.string().superRefine((name, ctx) => {
  const check = parseVariablePath(name);
  if (!check.ok) ctx.addIssue({ code: 'custom', message: check.message });
});

export const durationSchema = z.string().superRefine((text, ctx) => {
  const check = checkDuration(text);
  if (!check.ok) ctx.addIssue({ code: 'custom', message: check.message });
});

export const credentialIdSchema = z.string().min(1).max(100);

/** Port and option ids chosen by editors (switch cases, split variants, buttons). */
export const portIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,32}$/, "Use 1–32 letters, digits, '_' or '-'");

export const formatSchema = field(
  z.enum(['plain', 'markdown', 'html']).default('plain'),
  l('Formatting', 'Форматирование'),
  l('How Telegram renders the text: plain, MarkdownV2 or HTML. Inserted variables are escaped for it.', 'Как Telegram отображает текст: обычный, MarkdownV2 или HTML. Подставленные переменные экранируются.'),
  'select',
);

export const buttonSchema = z.object({
  id: field(portIdSchema, l('Button id', 'Id кнопки'), l('Sent back when pressed (message.buttonId)', 'Возвращается при нажатии (message.buttonId)')),
  text: field(templateSchema.min(1), l('Text', 'Текст'), undefined, 'template'),
  url: field(templateSchema.optional(), l('Link', 'Ссылка'), l('Inline buttons only: opens the link instead of answering', 'Только для inline-кнопок: открывает ссылку вместо ответа'), 'template'),
  value: field(z.string().max(200).optional(), l('Value', 'Значение'), l('Captured instead of the text (message.value)', 'Сохраняется вместо текста (message.value)')),
});

export const buttonsSchema = field(
  z
    .object({
      kind: field(z.enum(['inline', 'reply']).default('inline'), l('Kind', 'Вид'), l('Inline buttons sit under the message; reply buttons replace the keyboard', 'Inline-кнопки под сообщением; reply-кнопки заменяют клавиатуру'), 'select'),
      rows: z.array(z.array(buttonSchema).min(1).max(8)).min(1).max(20),
      oneTime: field(z.boolean().optional(), l('Hide after use', 'Скрыть после нажатия'), l('Reply keyboards only', 'Только для reply-клавиатуры'), 'switch'),
    })
    .superRefine((buttons, ctx) => {
      const seen = new Set<string>();
      buttons.rows.forEach((row, r) =>
        row.forEach((button, b) => {
          if (seen.has(button.id)) ctx.addIssue({ code: 'custom', path: ['rows', r, b, 'id'], message: `Button id '${button.id}' is used twice` });
          seen.add(button.id);
          if (buttons.kind === 'reply' && button.url !== undefined) {
            ctx.addIssue({ code: 'custom', path: ['rows', r, b, 'url'], message: 'Reply keyboard buttons cannot open links; use inline buttons' });
          }
        }),
      );
    }),
  l('Buttons', 'Кнопки'),
  undefined,
  'buttons',
);
export type Buttons = z.infer<typeof buttonsSchema>;

export function buttonTemplates(buttons: Buttons | undefined, at: string): TemplateRef[] {
  if (!buttons) return [];
  return buttons.rows.flatMap((row, r) =>
    row.flatMap((button, b) => [
      { field: `${at}.rows.${r}.${b}.text`, text: button.text },
      ...(button.url !== undefined ? [{ field: `${at}.rows.${r}.${b}.url`, text: button.url }] : []),
    ]),
  );
}

/** Per-language variants keyed by language code. */
export function variantsSchema<T extends z.ZodType>(variant: T): z.ZodOptional<z.ZodRecord<typeof languageSchema, T>> {
  return field(
    z.record(languageSchema, variant).optional(),
    l('Translations', 'Переводы'),
    l("Per-language versions, chosen by session.language (else the user's Telegram language, else the chain's default)", 'Версии для языков: по session.language, иначе по языку Telegram, иначе язык цепочки по умолчанию'),
    'language-map',
  );
}

/** Warnings for variants in languages the chain does not declare. */
export function variantLanguageIssues(variants: Record<string, unknown> | undefined, languages: readonly string[]): NodeIssue[] {
  return Object.keys(variants ?? {})
    .filter((language) => !languages.includes(language))
    .map((language) => ({
      code: 'language_unknown' as const,
      field: `variants.${language}`,
      message: `Translation '${language}' is for a language the chain does not list`,
      fix: `Add '${language}' to the chain's languages, or remove the translation`,
      severity: 'warning' as const,
    }));
}
