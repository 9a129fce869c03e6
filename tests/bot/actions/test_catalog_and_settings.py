"""The catalog loads and validates at start; settings name the variable they reject."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.catalog import CatalogError, load_catalog
from actions.runtime import MIN_CATEGORIES, MIN_PRODUCTS
from actions.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[3]


def test_shipped_catalog_has_enough_valid_products() -> None:
    catalog = load_catalog(ROOT / "data" / "catalog", MIN_PRODUCTS, MIN_CATEGORIES)
    assert len(catalog.products) >= 80
    assert len(catalog.categories) >= 8
    assert all(4 <= len(p.tags) <= 8 and p.title and p.description for p in catalog.products)
    assert catalog.category_of("Shoe") == "shoes"
    assert catalog.category_of("dress") == "dresses"


def _write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "bad.yml").write_text(body)
    return tmp_path


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("products:\n- {id: p-1, title: T, category: c, tags: [a, b, c], description: d}\n",
         "product 'p-1' has 3 tags"),
        ("products:\n- {id: p-2, title: T, category: c, tags: [a, b, Red!, d], description: d}\n",
         "product 'p-2' has malformed tags ['Red!']"),
        ("products:\n- {id: p-3, title: T, category: c, tags: [a, b, c, d]}\n",
         "product 'p-3' lacks description"),
        ("products:\n- {id: p-4, title: T, category: c, tags: [a, b, c, d], description: d}\n"
         "- {id: p-4, title: U, category: c, tags: [a, b, c, d], description: d}\n",
         "product id 'p-4' already used"),
        ("products: [1, 2\n", "not valid YAML/JSON"),
    ],
)
def test_bad_catalog_entry_is_named(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(CatalogError) as err:
        load_catalog(_write(tmp_path, body))
    assert expected in str(err.value), f"error message was: {err.value}"


def test_catalog_below_minimum_is_rejected(tmp_path: Path) -> None:
    body = "products:\n- {id: p-1, title: T, category: c, tags: [a, b, c, d], description: d}\n"
    with pytest.raises(CatalogError, match="need at least 80 in 8"):
        load_catalog(_write(tmp_path, body), 80, 8)


def test_settings_defaults_and_overrides() -> None:
    s = Settings.from_env({"REDIS_URL": "redis://example:1/2", "EMOTICAL_FACE_WEIGHT": "0.9",
                           "EMOTICAL_EMOTION_READS": "off"})
    assert (s.redis_url, s.face_weight, s.emotion_reads) == ("redis://example:1/2", 0.9, False)
    assert Settings.from_env({}).face_stale_s == Settings().face_stale_s


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"EMOTICAL_FACE_WEIGHT": "heavy"}, "EMOTICAL_FACE_WEIGHT"),
        ({"EMOTICAL_FACE_STALE_S": "-1"}, "EMOTICAL_FACE_STALE_S"),
        ({"EMOTICAL_SYMPATHY_THRESHOLDS": "0.5,0.4,0.6"}, "EMOTICAL_SYMPATHY_THRESHOLDS"),
        ({"EMOTICAL_EMOTION_READS": "maybe"}, "EMOTICAL_EMOTION_READS"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"EMOTICAL_REPORT_URL": "http://x/report"}, "EMOTICAL_REPORT_URL"),
    ],
)
def test_bad_setting_names_the_variable(env: dict, name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)
