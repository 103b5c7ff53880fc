# The scenarios of Azure PowerShell's own access restriction tests, written for acl's test
# suite in the shape those tests have: one function per scenario (named as upstream), its
# setup in variables from the test helpers, the commands inside try/finally, the results
# checked with Assert-AreEqual. Modelled on Azure/azure-powershell,
# src/Websites/Websites.Test/ScenarioTests/AccessRestrictionTests.ps1 (Apache-2.0); the
# statements here are acl's own, not a copy.

function Test-GetWebAppAccessRestriction
{
	$rgname = Get-ResourceGroupName
	$wname = Get-WebsiteName
	$location = Get-WebLocation
	try
	{
		New-AzResourceGroup -Name $rgname -Location $location
		$site = New-AzWebApp -ResourceGroupName $rgname -Name $wname -Location $location
		$config = Get-AzWebAppAccessRestrictionConfig -ResourceGroupName $rgname -Name $wname
		Assert-AreEqual 1 $config.MainSiteAccessRestrictions.Count
	}
	finally
	{
		Remove-AzResourceGroup -Name $rgname -Force
	}
}

function Test-UpdateWebAppAccessRestrictionSimple
{
	$rgname = Get-ResourceGroupName
	$wname = Get-WebsiteName
	try
	{
		Update-AzWebAppAccessRestrictionConfig -ResourceGroupName $rgname -Name $wname -ScmSiteUseMainSiteRestrictionConfig
		$config = Get-AzWebAppAccessRestrictionConfig -ResourceGroupName $rgname -Name $wname
		Assert-AreEqual $true $config.ScmSiteUseMainSiteRestrictionConfig
	}
	finally
	{
		Remove-AzResourceGroup -Name $rgname -Force
	}
}

function Test-UpdateWebAppAccessRestrictionComplex
{
	$rgname = Get-ResourceGroupName
	$wname = Get-WebsiteName
	try
	{
		$config = Update-AzWebAppAccessRestrictionConfig -ResourceGroupName $rgname -Name $wname -ScmSiteUseMainSiteRestrictionConfig -PassThru
		Assert-AreEqual $true $config.ScmSiteUseMainSiteRestrictionConfig
		Update-AzWebAppAccessRestrictionConfig -ResourceGroupName $rgname -Name $wname -ScmSiteUseMainSiteRestrictionConfig:$false
	}
	finally
	{
		Remove-AzResourceGroup -Name $rgname -Force
	}
}

function Test-AddWebAppAccessRestriction
{
	$rgname = Get-ResourceGroupName
	$wname = Get-WebsiteName
	try
	{
		$config = Add-AzWebAppAccessRestrictionRule -ResourceGroupName $rgname -WebAppName $wname -Name office -Action Allow -IpAddress 198.51.100.0/27 -Priority 200 -PassThru
		Assert-AreEqual 2 $config.MainSiteAccessRestrictions.Count
	}
	finally
	{
		Remove-AzResourceGroup -Name $rgname -Force
	}
}

function Test-AddWebAppAccessRestrictionServiceEndpoint
{
	$rgname = Get-ResourceGroupName
	$wname = Get-WebsiteName
	$vnetGroup = "net-rg"
	$vnet = "shared-vnet"
	$subnet = "apps"
	try
	{
		Write-Debug "Starting the service endpoint scenario"
		$subscriptionId = getSubscription
		$subnetId = '/subscriptions/' + $subscriptionId + '/resourceGroups/' + $vnetGroup + '/providers/Microsoft.Network/virtualNetworks/' + $vnet + '/subnets/' + $subnet
		$config = Add-AzWebAppAccessRestrictionRule -ResourceGroupName $rgname -WebAppName $wname -Name vnet -Action Allow -SubnetId $subnetId -Priority 150 -PassThru
		Assert-AreEqual 2 $config.MainSiteAccessRestrictions.Count
	}
	finally
	{
		Remove-AzResourceGroup -Name $rgname -Force
	}
}

function Test-RemoveWebAppAccessRestriction
{
	$rgname = Get-ResourceGroupName
	$wname = Get-WebsiteName
	try
	{
		$config = Add-AzWebAppAccessRestrictionRule -ResourceGroupName $rgname -WebAppName $wname -Name office -Action Allow -IpAddress 198.51.100.0/27 -Priority 200 -PassThru
		Assert-AreEqual 2 $config.MainSiteAccessRestrictions.Count
		$config = Remove-AzWebAppAccessRestrictionRule -ResourceGroupName $rgname -WebAppName $wname -Name office
		Assert-AreEqual 1 $config.MainSiteAccessRestrictions.Count
	}
	finally
	{
		Remove-AzResourceGroup -Name $rgname -Force
	}
}

function Test-AddWebAppAccessRestrictionScm
{
	$rgname = Get-ResourceGroupName
	$wname = Get-WebsiteName
	try
	{
		$config = Add-AzWebAppAccessRestrictionRule -ResourceGroupName $rgname -WebAppName $wname -Name office -Action Allow -IpAddress 198.51.100.0/27 -Priority 200 -TargetScmSite -PassThru
		Assert-AreEqual 2 $config.ScmSiteAccessRestrictions.Count
	}
	finally
	{
		Remove-AzResourceGroup -Name $rgname -Force
	}
}

function Test-RemoveWebAppAccessRestrictionScm
{
	$rgname = Get-ResourceGroupName
	$wname = Get-WebsiteName
	try
	{
		$config = Add-AzWebAppAccessRestrictionRule -ResourceGroupName $rgname -WebAppName $wname -Name office -Action Allow -IpAddress 198.51.100.0/27 -Priority 200 -TargetScmSite -PassThru
		$config = Remove-AzWebAppAccessRestrictionRule -ResourceGroupName $rgname -WebAppName $wname -Name office -TargetScmSite
		Assert-AreEqual 1 $config.ScmSiteAccessRestrictions.Count
	}
	finally
	{
		Remove-AzResourceGroup -Name $rgname -Force
	}
}

function Test-AddWebAppAccessRestrictionSlot
{
	$rgname = Get-ResourceGroupName
	$wname = Get-WebsiteName
	$slotName = "stage"
	try
	{
		$slot = New-AzWebAppSlot -ResourceGroupName $rgname -Name $wname -Slot $slotName
		$config = Get-AzWebAppAccessRestrictionConfig -ResourceGroupName $rgname -Name $wname -SlotName $slotName
		$config = Add-AzWebAppAccessRestrictionRule -ResourceGroupName $rgname -WebAppName $wname -Name office -Action Allow -IpAddress 198.51.100.0/27 -Priority 200 -SlotName $slotName -PassThru
		Assert-AreEqual 2 $config.MainSiteAccessRestrictions.Count
	}
	finally
	{
		Remove-AzResourceGroup -Name $rgname -Force
	}
}
