package upstream

import (
	_ "github.com/chromedp/chromedp"
	_ "golang.org/x/time/rate"
)
