import { onBeforeUnmount, onMounted } from 'vue';

export interface ShortcutHandlers {
  undo(): void;
  redo(): void;
  copy(): void;
  paste(): void;
  duplicate(): void;
  remove(): void;
  selectAll(): void;
  jump(): void;
  fit(): void;
  tidy(): void;
  help(): void;
}

/** Keys shown in the help panel, by handler. */
export const shortcutList: { keys: string[]; action: keyof ShortcutHandlers | 'multi' }[] = [
  { keys: ['Ctrl', 'Z'], action: 'undo' },
  { keys: ['Ctrl', 'Shift', 'Z'], action: 'redo' },
  { keys: ['Ctrl', 'C'], action: 'copy' },
  { keys: ['Ctrl', 'V'], action: 'paste' },
  { keys: ['Ctrl', 'D'], action: 'duplicate' },
  { keys: ['Delete'], action: 'remove' },
  { keys: ['Ctrl', 'A'], action: 'selectAll' },
  { keys: ['Shift', 'drag'], action: 'multi' },
  { keys: ['Ctrl', 'K'], action: 'jump' },
  { keys: ['Shift', '1'], action: 'fit' },
  { keys: ['Shift', 'Alt', 'T'], action: 'tidy' },
  { keys: ['?'], action: 'help' },
];

function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/** Editor keyboard shortcuts (ignored while typing in a field). */
export function useEditorShortcuts(handlers: ShortcutHandlers): void {
  function onKey(event: KeyboardEvent): void {
    if (typing(event.target) || event.defaultPrevented) return;
    const mod = event.ctrlKey || event.metaKey;
    const key = event.key.toLowerCase();
    let handled = true;
    if (mod && key === 'z' && event.shiftKey) handlers.redo();
    else if (mod && key === 'z') handlers.undo();
    else if (mod && key === 'y') handlers.redo();
    else if (mod && key === 'c') handlers.copy();
    else if (mod && key === 'v') handlers.paste();
    else if (mod && key === 'd') handlers.duplicate();
    else if (mod && key === 'a') handlers.selectAll();
    else if (mod && key === 'k') handlers.jump();
    else if (!mod && (event.key === 'Delete' || event.key === 'Backspace')) handlers.remove();
    else if (!mod && event.shiftKey && event.altKey && event.code === 'KeyT') handlers.tidy();
    else if (!mod && event.shiftKey && event.code === 'Digit1') handlers.fit();
    else if (!mod && event.key === '?') handlers.help();
    else handled = false;
    if (handled) event.preventDefault();
  }
  onMounted(() => window.addEventListener('keydown', onKey));
  onBeforeUnmount(() => window.removeEventListener('keydown', onKey));
}
