/**
 * AI clients in a real browser: an operator creates one in the tenant front and gets its token
 * (once) with the settings to paste into a client; an agent (the MCP SDK client) uses it to ask for
 * an approval-gated Skill; the approver, following the ticket's link, sees that an agent asked and
 * the exact arguments, approves, and the operator sees the client's calls, linked to the run.
 */
import { describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { connectMcp } from '../support/mcp.ts';
import type { TestPlatform } from '../support/platform.ts';
import { scriptSkill } from '../support/runs.ts';
import { browserSuite, screenshot, signIn, siteUrl } from './support.ts';

const PASSWORD = 'e2e-mcp-password-1';
const ACME = 'acme.localhost';

let platform: TestPlatform;
let port: number;

const { page } = browserSuite(PASSWORD, (suite) => {
  ({ platform, port } = suite);
});

describe('AI clients in the tenant front', () => {
  it('an operator connects an agent; the approver sees what it asked for, exactly', async () => {
    const alice = await platform.login(ACME, 'alice');
    await scriptSkill(
      (token, method, path, body) => call(platform.platform.url, { host: ACME, token, method, path, body }),
      alice,
      'def main(inputs, ctx):\n    return {"refunded": inputs["order"]}\n',
      {
        scriptName: 'refund.py',
        skill: {
          name: 'Refund order',
          inputSchema: { type: 'object', properties: { order: { type: 'string' } }, required: ['order'] },
          outputSchema: { type: 'object' },
          risk: 'medium',
        },
      },
    );

    // bob creates the client in the front.
    const { page: bob } = await page();
    await bob.goto(siteUrl(ACME, port, '/mcp-clients'));
    await signIn(bob, 'bob', PASSWORD);
    await bob.getByRole('link', { name: 'AI clients' }).click();
    await bob.getByRole('heading', { name: 'AI clients', level: 1 }).waitFor();
    await expect(bob.getByText(`http://${ACME}:${port}/mcp`).first().isVisible()).resolves.toBe(true);
    await bob.getByLabel('Name', { exact: true }).fill('Support copilot');
    await bob.getByRole('checkbox', { name: 'Refund order' }).check();
    await bob.getByRole('button', { name: 'Create AI client' }).click();
    const tokenBlock = bob.getByRole('figure', { name: 'New AI client token' });
    const token = (await tokenBlock.textContent())?.trim() ?? '';
    expect(token).toMatch(/^efm_[0-9a-f]{16}_/);
    const desktop = JSON.parse(
      (await bob.getByRole('figure', { name: 'Desktop client settings' }).textContent()) ?? '',
    );
    expect(desktop.mcpServers['support-copilot']).toEqual({
      command: 'npx',
      args: [
        '-y',
        'mcp-remote',
        `http://${ACME}:${port}/mcp`,
        '--header',
        `Authorization:\${AUTH_HEADER}`,
        '--allow-http',
      ],
      env: { AUTH_HEADER: `Bearer ${token}` },
    });
    await screenshot(bob, 'mcp-client-created');
    await bob.getByRole('button', { name: 'Done' }).click();
    await expect(bob.getByText(token).count()).resolves.toBe(0);
    await bob.getByRole('cell', { name: 'Refund order' }).waitFor();

    // The agent asks for the refund and gets a ticket with a link for approvers.
    const agent = await connectMcp(platform.platform.url, ACME, token);
    const { tools } = await agent.listTools();
    const refund = tools.find((tool) => tool.title === 'Refund order');
    const result = await agent.callTool({ name: refund?.name ?? '', arguments: { order: 'A-1042' } });
    const ticket = result.structuredContent as { runId: string; approvalUrl: string; status: string };
    expect(ticket.status).toBe('pending_approval');
    expect(ticket.approvalUrl).toBe(siteUrl(ACME, port, `/approvals?run=${ticket.runId}`));

    // alice follows the link: the card says an agent asked, and shows the arguments it sent.
    const { page: approver } = await page();
    await approver.goto(ticket.approvalUrl);
    await signIn(approver, 'alice', PASSWORD);
    const card = approver.getByRole('article', {
      name: 'Run of Refund order by bob through Support copilot',
    });
    await card.waitFor();
    await expect(card.getAttribute('aria-current')).resolves.toBe('true');
    await expect(card.getByText('AI agent').isVisible()).resolves.toBe(true);
    await expect(card.getByText('“Support copilot”', { exact: false }).isVisible()).resolves.toBe(true);
    await expect(card.getByRole('figure', { name: 'Input' }).textContent()).resolves.toContain(
      '"order": "A-1042"',
    );
    await screenshot(approver, 'mcp-approval-card');
    await card.getByRole('button', { name: 'Approve' }).click();
    await approver.getByText('Approved the run of Refund order.').waitFor();

    const done = await agent.callTool({
      name: 'get_run',
      arguments: { runId: ticket.runId, waitSeconds: 10 },
    });
    expect(done.structuredContent).toEqual(
      expect.objectContaining({ status: 'succeeded', output: { refunded: 'A-1042' } }),
    );
    await agent.close();

    // bob sees the client's calls, each linked to its run.
    await bob.getByRole('link', { name: 'Support copilot' }).click();
    await bob.getByRole('heading', { name: 'Support copilot', level: 1 }).waitFor();
    await bob.getByRole('link', { name: ticket.runId }).waitFor();
    await bob.getByRole('link', { name: ticket.runId }).click();
    await bob.getByText('through the AI client “Support copilot”').waitFor();
  });
});
