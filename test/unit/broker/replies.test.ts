import { describe, expect, it } from 'vitest';
import { InflightReplies, isReplyTopic } from '../../../src/broker/persistence/replies.ts';

describe('replies kept out of the offline queue', () => {
  it.each([
    ['/sys/pk/dn/thing/event/property/post_reply', true],
    ['/sys/pk/dn/thing/sub/register_reply', true],
    ['/ext/session/pk/dn/combine/login_reply', true],
    // An application's message on a custom topic is queued like any other, whatever its name.
    ['/pk/dn/user/get_reply', false],
    ['/sys/pk/dn/thing/service/property/set', false],
    ['/broadcast/pk/notice_reply', false],
  ])('%s: reply %s', (topic, reply) => {
    expect(isReplyTopic(topic)).toBe(reply);
  });

  it('recognises the PUBACK of a reply delivery once, per client, until the session resumes', () => {
    const r = new InflightReplies();
    r.add('a', 7);
    r.add('a', 8);
    r.add('b', 7);
    expect(r.take('a', 7)).toBe(true);
    expect(r.take('a', 7)).toBe(false); // a stored command numbered 7 later is deleted as usual
    expect(r.take('c', 7)).toBe(false);
    r.reset('a');
    expect(r.take('a', 8)).toBe(false);
    expect(r.take('b', 7)).toBe(true);
  });
});
