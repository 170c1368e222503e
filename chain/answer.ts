// Validation of an ask node's reply. zod-free: it runs in the workflow sandbox.
import type { JsonValue } from './json.ts';
import { regexTest } from './regex.ts';
import type { AnswerValidator } from './nodes/ask-validator.ts';
import type { Buttons } from './nodes/common.ts';

/** What validating a reply needs of an ask node's config. */
export interface AnswerRules {
  validator: AnswerValidator;
  buttons?: Buttons | undefined;
}

export function choicesOf(validator: Extract<AnswerValidator, { kind: 'choice' }>, buttons: Buttons | undefined): string[] {
  if (validator.choices && validator.choices.length > 0) return validator.choices;
  return (buttons?.rows ?? []).flat().filter((button) => button.url === undefined).map((button) => button.value ?? button.text);
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@.]{2,}$/;

/** What the user sent, as the interpreter sees it. */
export interface Answer {
  text: string;
  /** Value of a pressed button (its `value`, else its text). */
  value?: string;
}

export type AnswerCheck = { ok: true; value: JsonValue } | { ok: false };

/**
 * Validates a reply and returns the value to store: numbers as numbers, phones
 * normalised to digits with an optional leading '+', choices as written in the config,
 * everything else as the trimmed text (a button's value when one was pressed).
 */
export function validateAnswer(config: AnswerRules, answer: Answer): AnswerCheck {
  const text = (answer.value ?? answer.text).trim();
  const validator = config.validator;
  switch (validator.kind) {
    case 'none':
      return text === '' ? { ok: false } : { ok: true, value: text };
    case 'regex':
      return regexTest(validator.pattern, text, { caseInsensitive: validator.ignoreCase }) ? { ok: true, value: text } : { ok: false };
    case 'number': {
      if (!/^[-+]?(\d+([.,]\d+)?|[.,]\d+)$/.test(text)) return { ok: false };
      const value = Number(text.replace(',', '.'));
      if (validator.integer && !Number.isInteger(value)) return { ok: false };
      if (validator.min !== undefined && value < validator.min) return { ok: false };
      if (validator.max !== undefined && value > validator.max) return { ok: false };
      return { ok: true, value };
    }
    case 'email':
      return EMAIL.test(text) && text.length <= 254 ? { ok: true, value: text } : { ok: false };
    case 'phone': {
      if (!/^\+?[\d\s().-]+$/.test(text)) return { ok: false };
      const digits = text.replace(/\D/g, '');
      if (digits.length < 7 || digits.length > 15) return { ok: false };
      return { ok: true, value: `${text.startsWith('+') ? '+' : ''}${digits}` };
    }
    case 'choice': {
      const folded = text.normalize('NFC').toLowerCase();
      const choice = choicesOf(validator, config.buttons).find((option) => option.normalize('NFC').toLowerCase() === folded);
      return choice === undefined ? { ok: false } : { ok: true, value: choice };
    }
  }
}

