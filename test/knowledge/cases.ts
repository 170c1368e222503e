// The fixed retrieval queries over the pdf and docx fixtures (test/fixtures/knowledge/):
// query, the document whose chunk must come first, and a pattern of that chunk's text.
// Run on the exact float8[] path (knowledge.test.ts) and the pgvector one (pgvector.test.ts).
export const retrievalCases: [query: string, document: string, text: RegExp][] = [
  ['Сколько стоит доставка по Москве?', 'price-list.pdf', /МКАД стоит 350 рублей/],
  ['какая гарантия на технику и как вернуть товар', 'price-list.pdf', /гарантия двенадцать месяцев/],
  ['When is the Kazan store open on Saturday?', 'price-list.pdf', /Kazan showroom/],
  ['Can I pay with a Mir card or in instalments?', 'price-list.pdf', /Visa, Mastercard and Mir/],
  ['оптовая скидка для юридических лиц', 'price-list.pdf', /Оптовая скидка/],
  ['как подключить пылесос к wi-fi', 'manual.docx', /индикатор не замигает/],
  ['как часто менять фильтр', 'manual.docx', /Фильтр НЕРА/],
  ['how long does the battery last', 'manual.docx', /lithium battery/],
  ['what does error E7 mean', 'manual.docx', /Error E7/],
  ['set a cleaning schedule in the app', 'manual.docx', /open Schedule/],
];
