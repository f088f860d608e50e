// Command loadgen sends signed webhook deliveries to a contribot instance
// and reports acknowledgement latency and throughput. It only talks to the
// URL it is given; BENCHMARKS.md runs it against 127.0.0.1.
//
//	go run ./cmd/loadgen -url http://127.0.0.1:3000/webhook -secret s -n 5000 -rate 0 -c 16
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:3000/webhook", "webhook URL")
	secret := flag.String("secret", os.Getenv("GITHUB_WEBHOOK_SECRET"), "webhook secret (default $GITHUB_WEBHOOK_SECRET)")
	fixture := flag.String("fixture", "fixtures/github/pull_request/opened.json", "payload file")
	event := flag.String("event", "pull_request", "X-GitHub-Event")
	n := flag.Int("n", 2000, "deliveries to send")
	rate := flag.Float64("rate", 0, "deliveries per second; 0 sends as fast as the workers allow")
	conc := flag.Int("c", 16, "concurrent senders")
	prefix := flag.String("id-prefix", fmt.Sprintf("load-%d", time.Now().UnixNano()), "delivery ID prefix")
	flag.Parse()
	if *secret == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -secret or GITHUB_WEBHOOK_SECRET is required")
		os.Exit(2)
	}
	body, err := os.ReadFile(*fixture)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	mac := hmac.New(sha256.New, []byte(*secret))
	mac.Write(body)
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc}, Timeout: 30 * time.Second}
	jobs := make(chan int)
	var mu sync.Mutex
	lat := make([]time.Duration, 0, *n)
	status := map[int]int{}
	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				req, _ := http.NewRequest(http.MethodPost, *url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", *event)
				req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("%s-%d", *prefix, i))
				req.Header.Set("X-Hub-Signature-256", sig)
				t0 := time.Now()
				resp, err := client.Do(req)
				d := time.Since(t0)
				code := 0
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				mu.Lock()
				lat = append(lat, d)
				status[code]++
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	var tick <-chan time.Time
	if *rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / *rate))
		defer t.Stop()
		tick = t.C
	}
	for i := 0; i < *n; i++ {
		if tick != nil {
			<-tick
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("sent %d in %.2fs: %.0f deliveries/s; ack latency p50 %s p90 %s p99 %s max %s; status %v\n",
		*n, elapsed.Seconds(), float64(*n)/elapsed.Seconds(), pct(0.50).Round(10*time.Microsecond),
		pct(0.90).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond), status)
	if status[http.StatusAccepted]+status[http.StatusOK] != *n {
		os.Exit(1)
	}
}
