type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined>;

/**
 * Builds an element: `h("td", { class: "num", "data-value": 3 }, "3")`. Text goes in as text nodes, never as HTML, so
 * names and phone numbers from the API cannot inject markup.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** The one element matching `selector` under `root`; a missing one is a bug of the page, so it throws. */
export function one<T extends Element = HTMLElement>(selector: string, root: ParentNode = document): T {
  const found = root.querySelector<T>(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return found;
}

/** A table with a header row and the rows given. */
export function table(
  headers: (string | { label: string; numeric?: boolean; title?: string })[],
  rows: HTMLTableRowElement[],
  className = "",
): HTMLTableElement {
  const head = h(
    "tr",
    {},
    ...headers.map((header) =>
      typeof header === "string" ? h("th", {}, header) : h("th", { class: header.numeric ? "num" : null, title: header.title ?? null }, header.label),
    ),
  );
  return h("table", { class: ["data", className].filter(Boolean).join(" ") }, h("thead", {}, head), h("tbody", {}, ...rows));
}
