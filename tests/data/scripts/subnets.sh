#!/bin/sh
# Rules for the apps of the jobs team, two apps and a slot
az webapp config access-restriction add -g jobs -n jobs-api --rule-name jobs-subnet --priority 100 \
  --vnet-name shop-vnet --subnet jobs --vnet-resource-group net
az webapp config access-restriction add -g jobs -n jobs-api --slot staging --rule-name office --priority 100 --ip-address 198.51.100.0/24
az functionapp config access-restriction add --ids /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/jobs/providers/Microsoft.Web/sites/jobs-worker \
  --rule-name any-vnet-app --priority 100 --subnet /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/shop-vnet/subnets/app
az webapp update -g jobs -n jobs-api --set publicNetworkAccess=Disabled
