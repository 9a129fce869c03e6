"""The product catalog: loaded from `data/catalog/*.yml` and validated once at action-server start.

A bad entry stops the server with `CatalogError` naming the file and the product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Tuple

import yaml

from emotical_shared.chapters import Chapter, check_chapters

MIN_TAGS, MAX_TAGS = 4, 8
_TAG_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_FIELDS = ("id", "title", "category", "tags", "description")


class CatalogError(ValueError):
    """The catalog files contain an entry the shop cannot use."""


@dataclass(frozen=True)
class Product:
    """One product: what the shopper sees and the tags the profile learns from."""

    id: str
    title: str
    category: str
    tags: Tuple[str, ...]
    description: str
    price: float = 0.0
    #: The valid chapters of the product's video (`make validate` reports the invalid ones).
    chapters: Tuple[Chapter, ...] = ()

    @property
    def price_text(self) -> str:
        """The price as the shop page shows it: no cents on a whole price (299, 29.90)."""
        return f"{self.price:.0f}" if self.price == int(self.price) else f"{self.price:.2f}"


@dataclass(frozen=True)
class Catalog:
    """All products, indexed by id and by category."""

    products: Tuple[Product, ...]
    by_id: Mapping[str, Product]
    by_category: Mapping[str, Tuple[Product, ...]]

    @property
    def categories(self) -> Tuple[str, ...]:
        """Category names in sorted order."""
        return tuple(sorted(self.by_category))

    @property
    def tags(self) -> FrozenSet[str]:
        """Every tag used by some product."""
        return frozenset(t for p in self.products for t in p.tags)

    def get(self, product_id: Optional[str]) -> Optional[Product]:
        """The product with this id, or None (also for no id)."""
        return self.by_id.get(product_id) if product_id else None

    def products_in(self, category: Optional[str]) -> Tuple[Product, ...]:
        """The category's products in catalog order; every product when `category` is None."""
        return self.by_category.get(category, ()) if category else self.products

    def category_of(self, word: str) -> str | None:
        """The category a shopper's word names ("Shoe", "dress", "headphone"), or None."""
        w = word.strip().lower()
        for candidate in (w, w + "s", w + "es", w.rstrip("s"), w[:-2] if w.endswith("es") else w):
            if candidate in self.by_category:
                return candidate
        return None


def _parse_product(raw: Any, where: str) -> Product:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: a product must be a mapping, got {type(raw).__name__}")
    name = raw.get("id", "<no id>")
    missing = [f for f in _FIELDS if f not in raw or raw[f] in (None, "")]
    if missing:
        raise CatalogError(f"{where}: product {name!r} lacks {', '.join(missing)}")
    pid = raw["id"]
    if not isinstance(pid, str) or not _ID_RE.match(pid):
        raise CatalogError(f"{where}: product id {pid!r} must be lower-case letters, digits, _ or -")
    for f in ("title", "category", "description"):
        if not isinstance(raw[f], str):
            raise CatalogError(f"{where}: product {pid!r} field {f!r} must be text")
    tags = raw["tags"]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise CatalogError(f"{where}: product {pid!r} tags must be a list of words")
    if not MIN_TAGS <= len(tags) <= MAX_TAGS:
        raise CatalogError(
            f"{where}: product {pid!r} has {len(tags)} tags; give {MIN_TAGS} to {MAX_TAGS}")
    bad = [t for t in tags if not _TAG_RE.match(t)]
    if bad:
        raise CatalogError(
            f"{where}: product {pid!r} has malformed tags {bad}: use lower-case words (a-z, 0-9, -)")
    if len(set(tags)) != len(tags):
        raise CatalogError(f"{where}: product {pid!r} repeats a tag: {tags}")
    try:
        price = float(raw.get("price", 0.0))
    except (TypeError, ValueError):
        raise CatalogError(f"{where}: product {pid!r} price {raw.get('price')!r} is not a number") from None
    category = raw["category"].strip().lower()
    chapters, _problems = check_chapters(raw.get("chapters"), tags)
    return Product(id=pid, title=raw["title"].strip(), category=category, tags=tuple(tags),
                   description=raw["description"].strip(), price=price, chapters=tuple(chapters))


def load_catalog(path: Path, min_products: int = 1, min_categories: int = 1) -> Catalog:
    """Load every `*.yml`/`*.yaml`/`*.json` file under `path` (or the one file) and validate it."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yml", ".yaml", ".json"))
    elif path.is_file():
        files = [path]
    else:
        raise CatalogError(f"catalog path {path} does not exist (set EMOTICAL_CATALOG_PATH)")
    if not files:
        raise CatalogError(f"catalog folder {path} holds no .yml/.yaml/.json files")
    products: List[Product] = []
    seen: Dict[str, str] = {}
    for file in files:
        try:
            doc = yaml.safe_load(file.read_text(encoding="utf-8"))  # JSON is valid YAML
        except yaml.YAMLError as exc:
            raise CatalogError(f"{file}: not valid YAML/JSON: {exc}") from None
        items = doc.get("products") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise CatalogError(f"{file}: expected a list of products (or a `products:` list)")
        for i, raw in enumerate(items):
            product = _parse_product(raw, f"{file.name} entry {i + 1}")
            if product.id in seen:
                raise CatalogError(
                    f"{file.name}: product id {product.id!r} already used in {seen[product.id]}")
            seen[product.id] = file.name
            products.append(product)
    by_category: Dict[str, List[Product]] = {}
    for p in products:
        by_category.setdefault(p.category, []).append(p)
    if len(products) < min_products or len(by_category) < min_categories:
        raise CatalogError(
            f"catalog {path} has {len(products)} products in {len(by_category)} categories; "
            f"need at least {min_products} in {min_categories}")
    return Catalog(
        products=tuple(products),
        by_id={p.id: p for p in products},
        by_category={c: tuple(ps) for c, ps in by_category.items()},
    )
