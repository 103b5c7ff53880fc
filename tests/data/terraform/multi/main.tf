resource "azurerm_windows_web_app" "api" {
  name = "contoso-api"
  site_config {
    ip_restriction {
      name       = "internal"
      priority   = 100
      ip_address = "10.0.0.0/8"
    }
  }
}

resource "azurerm_linux_function_app_slot" "jobs_staging" {
  name            = "staging"
  function_app_id = azurerm_linux_function_app.jobs.id
  site_config {
    ip_restriction_default_action = "Deny"
    ip_restriction = [
      {
        name       = "office"
        priority   = 100
        ip_address = "198.51.100.0/24"
        headers = [{
          x_forwarded_host = ["jobs.contoso.com"]
        }]
      },
    ]
  }
}

resource "azurerm_linux_web_app" "regional" {
  count = 2
  name  = "contoso-web-${count.index}"
  site_config {
    ip_restriction_default_action = "Deny"
    ip_restriction {
      name       = "region-${count.index}"
      priority   = 100 + count.index
      ip_address = cidrsubnet("10.1.0.0/16", 8, count.index)
    }
  }
}

resource "azurerm_linux_function_app" "jobs" {
  for_each = toset(["eu", "us"])
  name     = "contoso-jobs-${each.key}"
  site_config {
    ip_restriction_default_action = each.key == "eu" ? "Deny" : "Allow"
    ip_restriction {
      name       = "office-${each.value}"
      priority   = 100
      ip_address = "198.51.100.0/24"
    }
  }
}
