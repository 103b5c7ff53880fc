#!/usr/bin/env bash
# Lock contoso-shop down to our Front Door profile, the office and the build agents.
set -euo pipefail

RG=shop-prod            # resource group
APP="contoso-shop"
FDID="${FDID:-0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10}"

az webapp config access-restriction add \
  --resource-group "$RG" --name "$APP" \
  --rule-name front-door --priority 100 --action Allow \
  --service-tag AzureFrontDoor.Backend \
  --http-header x-azure-fdid=$FDID --http-header x-fd-healthprobe=1

# a bare address becomes a /32
az webapp config access-restriction add -g $RG -n $APP --rule-name block-scanner -p 50 --action Deny --ip-address 203.0.113.66
az webapp config access-restriction add -g $RG -n $APP --rule-name office --priority 200 --ip-address 198.51.100.0/24,2001:db8:cafe::/48 --description "Office egress"
az webapp config access-restriction add -g $RG -n $APP --rule-name temporary --priority 300 --ip-address 192.0.2.99

for range in 192.0.2.0/28 192.0.2.16/28; do
  az webapp config access-restriction add -g $RG -n $APP --rule-name "agents-$range" --priority 300 --ip-address "$range" --scm-site true
done

az webapp config access-restriction set -g $RG -n $APP --use-same-restrictions-for-scm-site false --default-action Deny --scm-default-action Deny
az webapp config access-restriction remove -g $RG -n $APP --rule-name temporary
az webapp config access-restriction show -g $RG -n $APP --output table
echo "done"
