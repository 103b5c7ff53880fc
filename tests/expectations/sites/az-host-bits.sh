#!/bin/bash
# azure-cli 2.91 clears host bits: 198.51.100.7/24 is stored as 198.51.100.0/24
az webapp config access-restriction add -g shop -n shop --rule-name office --priority 100 \
  --action Allow --ip-address 198.51.100.7/24,2001:db8::1
