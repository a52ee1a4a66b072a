"""Deterministic seeding: a realistic electronics catalogue, one flash-sale deal, users.

Seeding resets the database (drop + create), so every run starts identical.
Stock accounting: the deal's units are moved out of its product, so for every
product ``initial_stock = stock + units sold by cart orders + units of its deals``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from werkzeug.security import generate_password_hash

from target_app import db
from target_app.config import CHEAP_PASSWORD_HASH

SEED = 20260301
USER_PASSWORD = "shopper-pass"
DEFAULT_PRODUCTS = 200
DEFAULT_DEAL_STOCK = 50
DEFAULT_DEAL_PER_USER_LIMIT = 1
DEFAULT_USERS = 0

# slug -> (name, brands, model words, (min taka, max taka))
CATALOG: dict[str, tuple[str, list[str], list[str], tuple[int, int]]] = {
    "phones": (
        "Smartphones",
        ["Samsung Galaxy", "Xiaomi Redmi", "Realme", "Vivo", "OPPO Reno", "iPhone", "Walton Primo"],
        ["A15", "Note 13", "C67", "Y36", "12 Pro", "15", "S24", "NX5", "GT Neo"],
        (9_000, 180_000),
    ),
    "laptops": (
        "Laptops",
        ["Lenovo IdeaPad", "HP Pavilion", "ASUS VivoBook", "Dell Inspiron", "Acer Aspire"],
        ["14", "15 Slim", "Pro 16", "Gaming 15", "Flip 14", "Air 13"],
        (42_000, 250_000),
    ),
    "headphones": (
        "Headphones & Earbuds",
        ["Sony", "JBL", "Soundcore", "QCY", "Havit", "Edifier"],
        ["WH-1000XM5", "Tune 520BT", "Life Q30", "T13 ANC", "Buds Pro", "W800BT"],
        (1_200, 42_000),
    ),
    "tvs": (
        "Televisions",
        ["Samsung Crystal", "Sony Bravia", "Walton", "Xiaomi Mi TV", "TCL", "Singer"],
        ['32" HD', '43" FHD', '50" 4K UHD', '55" QLED', '65" 4K Google TV'],
        (16_000, 320_000),
    ),
    "tablets": (
        "Tablets",
        ["Apple iPad", "Samsung Galaxy Tab", "Xiaomi Pad", "Lenovo Tab"],
        ["10th Gen", "A9+", "6", "M10 Plus", "S9 FE", "Air"],
        (14_000, 160_000),
    ),
    "cameras": (
        "Cameras",
        ["Canon EOS", "Nikon Z", "Sony Alpha", "Fujifilm X", "GoPro HERO"],
        ["R50", "fc", "a6400", "T30 II", "12 Black", "M50 Mark II"],
        (35_000, 280_000),
    ),
    "smartwatches": (
        "Smartwatches",
        ["Apple Watch", "Amazfit", "Xiaomi Smart Band", "Huawei Watch", "Samsung Galaxy Watch"],
        ["SE", "GTR 4", "8", "Fit 3", "6 Classic", "Bip 5"],
        (3_000, 75_000),
    ),
    "accessories": (
        "Accessories",
        ["Anker", "Baseus", "UGREEN", "Xiaomi", "Transcend", "SanDisk"],
        ["65W GaN Charger", "20000mAh Power Bank", "USB-C Hub", "128GB microSD", "1TB SSD"],
        (600, 15_000),
    ),
}


@dataclass(frozen=True)
class SeedOptions:
    products: int = DEFAULT_PRODUCTS
    deal_stock: int = DEFAULT_DEAL_STOCK
    deal_per_user_limit: int = DEFAULT_DEAL_PER_USER_LIMIT
    deal_opens_at: datetime | None = None  # absolute UTC; None -> open now
    users: int = DEFAULT_USERS
    password_hash_method: str = CHEAP_PASSWORD_HASH


def user_email(i: int) -> str:
    return f"shopper{i}@dhakacart.test"


def seed_database(engine: Engine, options: SeedOptions | None = None) -> dict[str, Any]:
    """Reset the schema and load the deterministic catalogue; returns a summary."""
    opts = options or SeedOptions()
    if opts.products < 1:
        raise ValueError("products must be >= 1")
    if opts.deal_stock < 0 or opts.deal_per_user_limit < 1 or opts.users < 0:
        raise ValueError("deal_stock >= 0, deal_per_user_limit >= 1 and users >= 0 required")
    rng = random.Random(SEED)
    now = db.utcnow()
    db.reset_schema(engine)
    slugs = list(CATALOG)
    product_rows: list[dict[str, Any]] = []
    for i in range(1, opts.products + 1):
        slug = slugs[(i - 1) % len(slugs)]
        cat_name, brands, models, (low, high) = CATALOG[slug]
        brand, model = rng.choice(brands), rng.choice(models)
        price_taka = rng.randrange(low, high) // 10 * 10 - 1
        stock = rng.randrange(20, 500)
        product_rows.append(
            {
                "id": i,
                "sku": f"DC-{slug[:3].upper()}-{i:05d}",
                "name": f"{brand} {model}",
                "description": f"{brand} {model} ({cat_name.lower()}), official warranty in "
                "Bangladesh, cash on delivery inside Dhaka.",
                "category": slug,
                "price_cents": price_taka * 100,
                "stock": stock,
                "initial_stock": stock,
            }
        )
    deal_product = product_rows[0]  # a phone: the flash-sale headline
    deal_product["initial_stock"] += opts.deal_stock  # reserved for the deal
    starts_at = opts.deal_opens_at or now
    deal_row = {
        "id": 1,
        "product_id": deal_product["id"],
        "title": f"Flash sale: {deal_product['name']} at 40% off",
        "price_cents": deal_product["price_cents"] * 60 // 100,
        "stock": opts.deal_stock,
        "remaining": opts.deal_stock,
        "per_user_limit": opts.deal_per_user_limit,
        "starts_at": starts_at,
        "ends_at": now + timedelta(days=3650),
    }
    with db.write_tx(engine) as conn:
        conn.execute(
            sa.insert(db.categories),
            [{"slug": s, "name": CATALOG[s][0]} for s in slugs],
        )
        conn.execute(sa.insert(db.products), product_rows)
        conn.execute(sa.insert(db.deals), [deal_row])
        conn.execute(sa.insert(db.settings), [{"key": "faults", "value": json.dumps(None)}])
        if opts.users:
            # One hash shared by every seeded user: same password, hashed once.
            pw_hash = generate_password_hash(USER_PASSWORD, method=opts.password_hash_method)
            conn.execute(
                sa.insert(db.users),
                [
                    {"email": user_email(i), "password_hash": pw_hash, "created_at": now}
                    for i in range(1, opts.users + 1)
                ],
            )
        if engine.dialect.name == "postgresql":  # explicit ids: move the sequences on
            for table in ("products", "deals"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )
    return {
        "products": opts.products,
        "categories": len(slugs),
        "deal_id": 1,
        "deal_stock": opts.deal_stock,
        "deal_per_user_limit": opts.deal_per_user_limit,
        "deal_starts_at": db.iso(starts_at),
        "users": opts.users,
    }
