"""Makes the two small service tag snapshots in this folder from Microsoft's public file
(changeNumber 375): ``ServiceTags_Public_375.small.json`` keeps three tags unchanged, and
``ServiceTags_Public_376.small.json`` is a made-up next week: some prefixes move out of
``AzureFrontDoor.Backend`` and one in from ``AzureFrontDoor.FirstParty``, one prefix is
split in two (no address changes), and ``AzureFrontDoor.MicrosoftSecurity`` is gone.

    python tests/data/servicetags/make.py ServiceTags_Public.json
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

KEEP = (
    "AzureFrontDoor.Backend",
    "AzureFrontDoor.MicrosoftSecurity",
    "ApplicationInsightsAvailability",
)
MOVED_OUT = ("4.153.250.0/29", "4.153.250.8/31", "2603:1000:4::600/123")
MOVED_IN = ("13.107.3.0/24",)  # from AzureFrontDoor.FirstParty
SPLIT = {"4.189.206.32/28": ["4.189.206.32/29", "4.189.206.40/29"]}


def main(source: str) -> None:
    data = json.loads(Path(source).read_text(encoding="utf-8-sig"))
    values = [v for v in data["values"] if v["name"] in KEEP]
    old = {"changeNumber": data["changeNumber"], "cloud": data["cloud"], "values": values}
    new = copy.deepcopy(old)
    new["changeNumber"] = data["changeNumber"] + 1
    new["values"] = [v for v in new["values"] if v["name"] != "AzureFrontDoor.MicrosoftSecurity"]
    for entry in new["values"]:
        if entry["name"] == "AzureFrontDoor.Backend":
            props = entry["properties"]
            prefixes: list[str] = []
            for text in props["addressPrefixes"]:
                if text in MOVED_OUT:
                    continue
                prefixes.extend(SPLIT.get(text, [text]))
            props["addressPrefixes"] = sorted([*prefixes, *MOVED_IN], key=lambda p: (":" in p, p))
            props["changeNumber"] += 1
    here = Path(__file__).parent
    for document in (old, new):
        path = here / f"ServiceTags_Public_{document['changeNumber']}.small.json"
        path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
