// The ask node's answer validator: its own file so that the zod-free runtime check
// (chain/answer.ts) takes its type from here, not from the node spec that uses the check.
import { z } from 'zod';
import { field } from './common.ts';
import { l } from './spec.ts';

export const validatorSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }),
  z.object({
    kind: z.literal('regex'),
    pattern: field(z.string().min(1), l('Pattern', 'Шаблон'), l('RE2 regular expression, searched in the reply; anchor with ^…$ to match the whole reply', 'Регулярное выражение RE2, ищется в ответе; ^…$ — весь ответ целиком')),
    ignoreCase: field(z.boolean().default(false), l('Ignore case', 'Без учёта регистра'), undefined, 'switch'),
  }),
  z.object({
    kind: z.literal('number'),
    min: field(z.number().optional(), l('Minimum', 'Минимум')),
    max: field(z.number().optional(), l('Maximum', 'Максимум')),
    integer: field(z.boolean().default(false), l('Whole numbers only', 'Только целые'), undefined, 'switch'),
  }),
  z.object({ kind: z.literal('email') }),
  z.object({ kind: z.literal('phone') }),
  z.object({
    kind: z.literal('choice'),
    choices: field(z.array(z.string().min(1).max(200)).max(100).optional(), l('Choices', 'Варианты'), l('Accepted answers; empty = the buttons (their value, else text)', 'Допустимые ответы; пусто — кнопки (их value, иначе текст)')),
  }),
]);
export type AnswerValidator = z.infer<typeof validatorSchema>;
