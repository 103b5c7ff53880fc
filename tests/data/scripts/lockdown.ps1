# Lock contoso-shop down to our Front Door profile, the office and the build agents.
$rg   = 'shop-prod'
$app  = "contoso-shop"
$fdid = '0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10'

Add-AzWebAppAccessRestrictionRule -ResourceGroupName $rg -WebAppName $app `
    -Name 'front-door' -Priority 100 -Action Allow -ServiceTag AzureFrontDoor.Backend `
    -HttpHeader @{ 'x-azure-fdid' = $fdid; 'x-fd-healthprobe' = '1' }

Add-AzWebAppAccessRestrictionRule $rg $app -Name block-scanner -Priority 50 -Action Deny -IpAddress 203.0.113.66/32
Add-AzWebAppAccessRestrictionRule -ResourceGroupName $rg -WebAppName $app -Name office -Priority 200 `
    -IpAddress "198.51.100.0/24,2001:db8:cafe::/48" -Description "Office egress" | Out-Null
Add-AzWebAppAccessRestrictionRule -ResourceGroupName $rg -WebAppName $app -Name temporary -Priority 300 -IpAddress 192.0.2.99/32

<# The build agents reach Kudu only #>
$agents = @('192.0.2.0/28', '192.0.2.16/28')
foreach ($range in $agents) {
    Add-AzWebAppAccessRestrictionRule -ResourceGroupName $rg -WebAppName $app `
        -Name "agents-$range" -Priority 300 -IpAddress $range -TargetScmSite
}

Update-AzWebAppAccessRestrictionConfig -ResourceGroupName $rg -Name $app -ScmSiteUseMainSiteRestrictionConfig:$false
Remove-AzWebAppAccessRestrictionRule -ResourceGroupName $rg -WebAppName $app -Name temporary
az webapp config access-restriction set -g $rg -n $app --default-action Deny --scm-default-action Deny
Write-Host "done"
