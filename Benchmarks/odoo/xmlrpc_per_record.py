#!/usr/bin/env python3
"""The baseline: how integrations talk to Odoo today. One XML-RPC `create` per product, the API key
as the password, a new call per record. Prints one JSON line: {"records": N, "seconds": S}.

usage: xmlrpc_per_record.py URL DB LOGIN API_KEY PREFIX COUNT
"""
import json
import sys
import time
import xmlrpc.client

url, db, login, key, prefix, count = sys.argv[1:7]
count = int(count)
common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
uid = common.authenticate(db, login, key, {})
models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object")
start = time.monotonic()
for i in range(count):
    code = f"{prefix}-{i:05d}"
    found = models.execute_kw(db, uid, key, "product.product", "search", [[["default_code", "=", code]]])
    if found:
        models.execute_kw(db, uid, key, "product.product", "write", [found, {"name": f"Bench {code}"}])
    else:
        models.execute_kw(db, uid, key, "product.product", "create", [{"name": f"Bench {code}", "default_code": code, "is_storable": True}])
print(json.dumps({"records": count, "seconds": time.monotonic() - start}))
