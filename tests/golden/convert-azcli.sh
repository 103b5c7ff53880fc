#!/usr/bin/env bash
# Access restrictions of contoso-shop, written by acl convert.
# Run it against a site without access restriction rules: `add` cannot replace rules.
set -euo pipefail
RG="${RG:-my-resource-group}"
APP="${APP:-contoso-shop}"
az webapp config access-restriction add -g "$RG" -n "$APP" --rule-name front-door --priority 100 --action Allow --service-tag AzureFrontDoor.Backend --description 'Only our own Front Door profile' --http-header x-azure-fdid=0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10
az webapp config access-restriction add -g "$RG" -n "$APP" --rule-name block-scanner --priority 50 --action Deny --ip-address 203.0.113.66/32
az webapp config access-restriction add -g "$RG" -n "$APP" --rule-name office --priority 200 --action Allow --ip-address 203.0.113.0/24,2001:db8:cafe::/48
az webapp config access-restriction add -g "$RG" -n "$APP" --rule-name jobs-subnet --priority 300 --action Allow --subnet /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/shop-vnet/subnets/jobs
az webapp config access-restriction add -g "$RG" -n "$APP" --rule-name build-agents --priority 100 --action Allow --ip-address 192.0.2.0/28 --scm-site true
az webapp config access-restriction set -g "$RG" -n "$APP" --use-same-restrictions-for-scm-site false --default-action Deny --scm-default-action Deny
az webapp update -g "$RG" -n "$APP" --set publicNetworkAccess=Enabled
